/// How long the coordinator keeps what no live run needs: ended runs with their steps, and
/// events.
///
/// A run is deleted once it has been ended (completed, failed or cancelled) for longer than
/// ``runsMilliseconds``; an event once it is older than ``eventsMilliseconds`` and no live run
/// and no collecting batch needs it. Event ids go on deduplicating for the idempotency window
/// (``Limits/idempotencyWindowMilliseconds``, 24 h) even when the events retention is shorter:
/// the event's payload is deleted and its id kept until the window has passed.
public struct RetentionPolicy: Sendable, Equatable {
    /// How long an ended run is kept after it ended.
    public var runsMilliseconds: Int64
    /// How long an event is kept after it was received (longer while a live run needs it).
    public var eventsMilliseconds: Int64

    /// Seven days for both.
    public static let `default` = RetentionPolicy(runsMilliseconds: 7 * 86_400_000, eventsMilliseconds: 7 * 86_400_000)
    /// The shortest retention accepted: one second.
    public static let minimumMilliseconds: Int64 = 1_000
    /// The longest retention accepted: ten years.
    public static let maximumMilliseconds: Int64 = 3_660 * 86_400_000

    public init(runsMilliseconds: Int64, eventsMilliseconds: Int64) {
        self.runsMilliseconds = runsMilliseconds
        self.eventsMilliseconds = eventsMilliseconds
    }

    /// The same window for runs and events.
    public init(milliseconds: Int64) {
        self.init(runsMilliseconds: milliseconds, eventsMilliseconds: milliseconds)
    }

    /// Runs that ended at or before this time are deleted.
    public func runCutoff(now: Int64) -> Int64 { now - runsMilliseconds }

    /// Events that became candidates (were received, or last found still needed) at or before
    /// this time are deleted when nothing needs them.
    public func eventCutoff(now: Int64) -> Int64 { now - eventsMilliseconds }

    /// How often the coordinator looks for what to delete: half the shorter window, between one
    /// second and one minute.
    public var sweepIntervalMilliseconds: Int64 {
        min(max(min(runsMilliseconds, eventsMilliseconds) / 2, 1_000), 60_000)
    }

    /// Parses a duration written as a positive integer and a unit: `30s`, `15m`, `12h`, `7d`
    /// (also `500ms`). Returns nil for anything else, or a value outside
    /// ``minimumMilliseconds``…``maximumMilliseconds``; ``durationRule`` says what is accepted.
    public static func parseDuration(_ text: String) -> Int64? {
        let units: [(suffix: String, milliseconds: Int64)] = [
            ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
        ]
        for unit in units where text.hasSuffix(unit.suffix) {
            let digits = text.dropLast(unit.suffix.count)
            guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int64(digits)
            else { return nil }
            let (milliseconds, overflow) = value.multipliedReportingOverflow(by: unit.milliseconds)
            guard !overflow, (minimumMilliseconds...maximumMilliseconds).contains(milliseconds) else { return nil }
            return milliseconds
        }
        return nil
    }

    /// What ``parseDuration(_:)`` accepts, for error messages.
    public static let durationRule =
        "a whole number followed by ms, s, m, h or d (as in 30s, 15m, 12h, 7d), between 1s and 3660d"

    /// `7d`, `12h`, `90s`: the largest unit that divides the value exactly.
    public static func format(milliseconds: Int64) -> String {
        for (suffix, unit) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        where milliseconds % unit == 0 {
            return "\(milliseconds / unit)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}
