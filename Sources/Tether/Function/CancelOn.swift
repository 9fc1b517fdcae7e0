import TetherProtocol

/// An event that cancels a function's running runs: `cancelOn: [CancelOn(event: "order/cancelled", if: …)]`.
///
/// ```swift
/// TetherFunction(
///     "process-order", trigger: .event("order/created"),
///     cancelOn: [CancelOn(event: "order/cancelled", if: "async.data.orderId == event.data.orderId")]
/// ) { (ctx: Context<OrderCreated>) in … }
/// ```
///
/// A run it cancels ends with status `cancelled`; the function's `onFailure` handler doesn't run for it.
public struct CancelOn: Sendable, Hashable {
    /// The exact name of the cancelling event, such as `"order/cancelled"` (no `/*` prefix).
    public let event: String
    /// An expression that must hold: `event` is the run's triggering event, `async` the cancelling one. `nil`
    /// cancels every running run of the function.
    public let match: String?

    /// Cancels running runs when an event named `event` arrives and `match` holds.
    ///
    /// - Parameters:
    ///   - event: The exact name of the cancelling event.
    ///   - match: An expression over `event` (the run's trigger) and `async` (the cancelling event), such as
    ///     `"async.data.orderId == event.data.orderId"`; `nil` cancels every running run.
    public init(event: String, if match: String? = nil) {
        self.event = event
        self.match = match
    }

    /// The wire form sent in the worker's Hello.
    var proto: Tether_V1_CancelOn {
        var cancelOn = Tether_V1_CancelOn()
        cancelOn.event = event
        cancelOn.match = match ?? ""
        return cancelOn
    }
}
