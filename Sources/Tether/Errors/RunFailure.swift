/// Why a run failed, as its `onFailure` handler receives it: the run's error code and message.
///
/// ```swift
/// onFailure: { (ctx: FailureContext<OrderCreated>) in
///     ctx.logger.error("order \(ctx.event.data.orderId) failed: \(ctx.error)")
/// }
/// ```
public struct RunFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code, such as `step_failed`, `non_deterministic` or `run_timed_out`.
    public let code: String
    /// What went wrong, as the failing step (or the coordinator) reported it.
    public let message: String

    /// Creates a run failure, for example to call an `onFailure` handler directly in a unit test.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// For example `step_failed: card declined`.
    public var description: String {
        "\(code): \(message)"
    }
}
