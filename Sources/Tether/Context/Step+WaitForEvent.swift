import Foundation
import TetherEngine
import TetherProtocol

extension Step {
    /// Pauses the run until an event arrives, or `timeout` passes, durably; returns the event, or nil at the
    /// timeout.
    ///
    /// ```swift
    /// let payment = try await ctx.step.waitForEvent(
    ///     "wait-for-payment", event: "payment/received",
    ///     match: "async.data.orderId == event.data.orderId", timeout: .seconds(86_400), as: Payment.self)
    /// if payment == nil { try await ctx.step.run("cancel-order") { try await orders.cancel(orderId) } }
    /// ```
    ///
    /// Only events accepted after the wait is recorded count. No worker waits meanwhile: the coordinator replays
    /// the function when the event arrives or the timeout passes.
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - event: The exact name of the event to wait for, such as `"payment/received"`.
    ///   - match: An expression that must hold for the incoming event: `async` is the incoming event, `event`
    ///     the run's triggering event. `nil` takes the first event of that name.
    ///   - timeout: From 1 ms to a year (`Limits.maxSleepMilliseconds`).
    ///   - type: The type of the event's `data`.
    /// - Returns: The event with its data decoded as `T`, or nil if none came within `timeout`.
    /// - Throws: `EventDecodingError` when the event's data doesn't decode as `T` (left uncaught, the run fails
    ///   with `invalid_input`); `StepError` when the wait failed for good on an earlier run. An invalid name,
    ///   expression or timeout fails the run at once with code `invalid_input`.
    ///
    /// In a unit-test `Context`, it returns nil (a timeout), unless the context has an output for `id`.
    public func waitForEvent<T: Decodable & Sendable>(
        _ id: String,
        event: String,
        match: String? = nil,
        timeout: Duration,
        as type: T.Type = T.self
    ) async throws -> Event<T>? {
        let limits = state.limits
        let planned = try await state.plannedStep(id, method: "step.waitForEvent") {
            let call = "step.waitForEvent(\"\(id)\", event: \"\(event)\")"
            if let problem = TriggerDefinition.event(name: event, expression: match).problem(limits: limits) {
                return .failure(StepArgumentError(message: "\(call): \(problem)."))
            }
            if event.contains("*") {
                return .failure(
                    StepArgumentError(message: "\(call) must name one event exactly; prefixes (\"/*\") aren't allowed.")
                )
            }
            let milliseconds = timeout.roundedUpMilliseconds
            guard timeout > .zero, milliseconds <= limits.maxSleepMilliseconds else {
                return .failure(
                    StepArgumentError(
                        message: "\(call) was given a timeout of \(timeout); it must be from 1 ms to "
                            + "\(limits.maxSleepMilliseconds) ms (a year)."))
            }
            var wait = Tether_V1_WaitForEventOp()
            wait.event = event
            wait.match = match ?? ""
            wait.timeoutMs = milliseconds
            return .success(.waitForEvent(wait))
        }
        switch planned {
        case .unitTest:
            return nil
        case .stored(let step):
            let output = try state.storedOutput(of: step)
            let stored = try? JSONValue(parsing: output)
            if stored?.isNull == true {
                return nil
            }
            guard let stored, let wire = Tether_V1_Event(json: stored) else {
                try await state.failAndPark(
                    stepId: "",
                    code: .nonDeterministic,
                    message: "the stored output of step \"\(step.id)\" is not an event or null, so it can't be "
                        + "step.waitForEvent's result. Did the step change while runs were in flight? Give the "
                        + "changed step a new id."
                )
            }
            return try Invocation.decode(wire, as: T.self, using: state.decoder)
        }
    }
}
