/// Why a cron schedule was rejected: a message naming the field, e.g. `minute field: 61 is out of range 0-59`.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, starting with the field's name when one field is at fault.
    public var message: String
    /// The 0-based index of the faulty field (0 minute, 1 hour, 2 day-of-month, 3 month,
    /// 4 day-of-week), or nil when the problem is not in one field (field count, time zone).
    public var field: Int?

    /// Creates an error from its parts.
    public init(message: String, field: Int? = nil) {
        self.message = message
        self.field = field
    }

    /// The message.
    public var description: String { message }
}
