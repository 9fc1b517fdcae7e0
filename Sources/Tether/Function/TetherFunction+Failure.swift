import TetherProtocol

extension TetherFunction {
    /// The event the coordinator emits when a run fails for good (not when it is cancelled), with data
    /// `{"function_id","run_id","error":{"code","message"},"event":{…}}`.
    static let failedEventName = "tether/function.failed"
    /// Appended to a function's id to name its `onFailure` handler.
    static let failureHandlerSuffix = "-failure"

    /// The id of this function's `onFailure` handler, `<id>-failure`; nil without a handler.
    var failureHandlerId: String? {
        invokeOnFailure == nil ? nil : id + Self.failureHandlerSuffix
    }

    /// The function that runs this function's `onFailure` handler, triggered by `tether/function.failed` events
    /// of this function's runs; nil without a handler.
    ///
    /// - Parameter app: The app, for the trigger's match on `event.data.function_id` (`app:id`); `nil` leaves the
    ///   trigger unfiltered, enough for the executor, which finds the handler by id.
    func failureHandler(app: String?) -> TetherFunction? {
        guard let failureHandlerId, let invokeOnFailure else {
            return nil
        }
        let expression = app.map { "event.data.function_id == \"\($0):\(id)\"" }
        return TetherFunction(
            id: failureHandlerId,
            name: "\(name ?? id) (on failure)",
            triggers: [.event(Self.failedEventName, if: expression)],
            retries: retries,
            cancelOn: [],
            timeouts: nil,
            idempotency: nil,
            invoke: invokeOnFailure,
            invokeOnFailure: nil
        )
    }

    /// The configurations this function registers in the worker's Hello: its own, then its `onFailure`
    /// handler's when it has one.
    func configs(app: String) -> [Tether_V1_FunctionConfig] {
        [config] + (failureHandler(app: app).map { [$0.config] } ?? [])
    }
}
