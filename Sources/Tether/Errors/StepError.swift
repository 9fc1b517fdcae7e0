/// A step that failed for good (its retries exhausted, or a non-retriable error), thrown from `step.run`.
///
/// Catch it to compensate and carry on; left uncaught, it fails the run.
///
/// ```swift
/// do {
///     try await ctx.step.run("charge") { try await payments.charge(order) }
/// } catch let error as StepError {
///     try await ctx.step.run("cancel-order") { try await orders.cancel(order.id, reason: error.message) }
/// }
/// ```
public struct StepError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The failed step's id (with its `:n` suffix if the id repeats).
    public let stepId: String
    /// A stable code: `step_failed` for an error the step threw, or a limit's code such as `output_too_large`.
    public let code: String
    /// The error's description, as the step reported it.
    public let message: String
    /// The Swift type of the error the step threw, such as `"URLError"`.
    public let errorType: String

    /// Creates a step error, for example to test how a function handles a failed step.
    public init(stepId: String, code: String = "step_failed", message: String, errorType: String = "") {
        self.stepId = stepId
        self.code = code
        self.message = message
        self.errorType = errorType
    }

    /// For example `step "charge" failed (PaymentDeclined): card declined`.
    public var description: String {
        let type = errorType.isEmpty ? "" : " (\(errorType))"
        return "step \"\(stepId)\" failed\(type): \(message)"
    }
}
