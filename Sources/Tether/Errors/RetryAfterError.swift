import Foundation

/// Throw from a step to retry it, but not before a given time.
///
/// Use it when the failing service says when to come back, such as an HTTP 429 with `Retry-After`.
/// The attempt still counts against the function's retries.
///
/// ```swift
/// if response.status == 429 { throw RetryAfterError("rate limited", after: .seconds(30)) }
/// ```
public struct RetryAfterError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for the run's error and the dashboard.
    public var message: String
    /// The earliest time the next attempt may start.
    public var retryAt: Date
    /// The underlying error, if any.
    public var cause: (any Error)?

    /// Creates an error that retries the step once `after` has passed.
    ///
    /// - Parameters:
    ///   - message: What went wrong.
    ///   - after: How long to wait, from now, before the next attempt.
    ///   - cause: The underlying error, if any.
    public init(_ message: String, after: Duration, cause: (any Error)? = nil) {
        let (seconds, attoseconds) = after.components
        let interval = Double(seconds) + Double(attoseconds) / 1e18
        self.init(message, at: Date().addingTimeInterval(max(0, interval)), cause: cause)
    }

    /// Creates an error that retries the step at `date` (or as soon as possible if it has passed).
    ///
    /// - Parameters:
    ///   - message: What went wrong.
    ///   - at: The earliest time the next attempt may start.
    ///   - cause: The underlying error, if any.
    public init(_ message: String, at date: Date, cause: (any Error)? = nil) {
        self.message = message
        self.retryAt = date
        self.cause = cause
    }

    /// The message, followed by the cause's description when there is one.
    public var description: String {
        guard let cause else { return message }
        return "\(message): \(cause)"
    }
}
