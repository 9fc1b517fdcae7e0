/// Throw from a step to fail it at once, without retries.
///
/// Use it for errors that another attempt cannot fix: a declined card, a record that doesn't exist,
/// invalid input.
///
/// ```swift
/// guard order.amount > 0 else { throw NonRetriableError("order \(order.id) has no amount") }
/// ```
public struct NonRetriableError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for the run's error and the dashboard.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?

    /// Creates an error that stops the step's retries.
    ///
    /// - Parameters:
    ///   - message: What went wrong.
    ///   - cause: The underlying error, if any; its description is appended to the message.
    public init(_ message: String, cause: (any Error)? = nil) {
        self.message = message
        self.cause = cause
    }

    /// The message, followed by the cause's description when there is one.
    public var description: String {
        guard let cause else { return message }
        return "\(message): \(cause)"
    }
}
