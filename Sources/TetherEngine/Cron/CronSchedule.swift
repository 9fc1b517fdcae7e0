import Foundation

/// A standard 5-field cron schedule in a time zone: `minute hour day-of-month month day-of-week`.
///
/// Each field takes `*`, numbers, lists (`1,15`), ranges (`1-5`) and steps (`*/15`, `1-30/5`,
/// and `5/15` meaning `5-59/15`). Months accept `JAN`–`DEC` and days `SUN`–`SAT`, in any case;
/// day-of-week 0 and 7 are both Sunday. The macros `@yearly` (`@annually`), `@monthly`,
/// `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for their usual expansions.
///
/// When both day-of-month and day-of-week are restricted, a day matches if either does
/// (Vixie cron). As in Vixie cron, a field written starting with `*` (such as `*/2`) does not
/// count as restricted, and the day must then match both fields.
///
/// The schedule runs in UTC unless a time zone is given, as the argument or as a
/// `TZ=Area/City ` (or `CRON_TZ=`) prefix. Across daylight-saving changes ``next(after:)``:
/// - fires once, at the end of the gap, for times a spring-forward skips (`30 2 * * *` fires at
///   03:00 on the day New York skips from 02:00 to 03:00);
/// - fires once, at the first occurrence, for times a fall-back repeats, unless the hour field
///   starts with `*` (`*/15 * * * *`, `0 * * * *`): such schedules follow real time and also fire
///   during the repeated hour.
public struct CronSchedule: Sendable, Hashable {
    /// The schedule as given, including any `TZ=` prefix.
    public let expression: String
    /// The time zone the fields are read in.
    public let timeZone: TimeZone

    let minutes: CronField.Values
    let hours: CronField.Values
    let daysOfMonth: CronField.Values
    let months: CronField.Values
    let daysOfWeek: CronField.Values

    /// Parses a schedule such as `*/15 9-17 * * MON-FRI` or `TZ=Europe/Paris 0 8 * * *`.
    ///
    /// - Parameters:
    ///   - expression: five fields separated by spaces or a macro, optionally after `TZ=Zone `.
    ///   - timeZone: an IANA time zone identifier such as `America/New_York`; nil or empty
    ///     means UTC unless the expression has a `TZ=` prefix.
    /// - Throws: ``CronError`` naming the faulty field and value, or an unknown time zone.
    public init(parsing expression: String, timeZone: String? = nil) throws(CronError) {
        var words = expression.split(whereSeparator: \.isWhitespace)[...]
        var zoneName = timeZone.flatMap { $0.isEmpty ? nil : $0 }
        if let first = words.first, let prefixed = Self.zonePrefix(first) {
            if let zoneName, zoneName != prefixed {
                throw CronError(message: "time zone given twice: '\(first)' and '\(zoneName)'")
            }
            zoneName = String(prefixed)
            words = words.dropFirst()
        }
        if words.count == 1, let macro = words.first, macro.hasPrefix("@") {
            guard let expansion = Self.macros[macro.lowercased()] else {
                throw CronError(message: "unknown macro '\(macro)'; use @yearly, @monthly, @weekly, @daily or @hourly")
            }
            words = expansion.split(separator: " ")[...]
        }
        guard words.count == 5 else {
            throw CronError(
                message: "expected 5 fields (minute hour day-of-month month day-of-week), found \(words.count)"
            )
        }
        let fields = Array(words)
        minutes = try CronField.minute.parse(fields[0])
        hours = try CronField.hour.parse(fields[1])
        daysOfMonth = try CronField.dayOfMonth.parse(fields[2])
        months = try CronField.month.parse(fields[3])
        daysOfWeek = try CronField.dayOfWeek.parse(fields[4])
        if let zoneName {
            guard let zone = TimeZone(identifier: zoneName) else {
                throw CronError(message: "unknown time zone '\(zoneName)'; use an IANA name such as America/New_York")
            }
            self.timeZone = zone
        } else {
            self.timeZone = TimeZone(secondsFromGMT: 0)!
        }
        self.expression = expression
    }

    /// The zone name of a `TZ=Zone` or `CRON_TZ=Zone` word, or nil when `word` is not one.
    private static func zonePrefix(_ word: Substring) -> Substring? {
        for prefix in ["TZ=", "CRON_TZ="] where word.hasPrefix(prefix) {
            return word.dropFirst(prefix.count)
        }
        return nil
    }

    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    /// Two schedules are equal when their parsed fields and time zones are, however they were
    /// spelled (`MON` or `1`, `TZ=` prefix or argument).
    public static func == (lhs: CronSchedule, rhs: CronSchedule) -> Bool {
        lhs.minutes == rhs.minutes && lhs.hours == rhs.hours && lhs.daysOfMonth == rhs.daysOfMonth
            && lhs.months == rhs.months && lhs.daysOfWeek == rhs.daysOfWeek
            && lhs.timeZone.identifier == rhs.timeZone.identifier
    }

    /// Hashes the field values and the time zone's identifier.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(minutes)
        hasher.combine(hours)
        hasher.combine(daysOfMonth)
        hasher.combine(months)
        hasher.combine(daysOfWeek)
        hasher.combine(timeZone.identifier)
    }
}

extension CronSchedule: CustomStringConvertible {
    /// The schedule as given.
    public var description: String { expression }
}
