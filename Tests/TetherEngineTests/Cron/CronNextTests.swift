import Foundation
import Testing

@testable import TetherEngine

/// Parses an ISO 8601 time with an offset, such as `2024-03-10T03:00:00-04:00`.
func isoDate(_ text: String) -> Date {
    try! Date(text, strategy: .iso8601)
}

/// The fire times of `schedule` after `start`, in UTC ISO 8601.
func fireTimes(_ schedule: CronSchedule, after start: String, count: Int) -> [String] {
    var times: [String] = []
    var cursor = isoDate(start)
    for _ in 0..<count {
        guard let next = schedule.next(after: cursor) else { break }
        times.append(next.formatted(.iso8601))
        cursor = next
    }
    return times
}

@Suite("Cron next fire time")
struct CronNextTests {
    @Test("fires strictly after the given time, at second 0")
    func strictlyAfter() throws {
        let schedule = try CronSchedule(parsing: "*/15 * * * *")
        #expect(schedule.next(after: isoDate("2024-05-10T10:07:30Z")) == isoDate("2024-05-10T10:15:00Z"))
        #expect(schedule.next(after: isoDate("2024-05-10T10:15:00Z")) == isoDate("2024-05-10T10:30:00Z"))
        #expect(
            schedule.next(after: isoDate("2024-05-10T10:14:59Z").addingTimeInterval(0.999))
                == isoDate("2024-05-10T10:15:00Z")
        )
        #expect(
            schedule.next(after: isoDate("2024-05-10T10:15:00Z").addingTimeInterval(0.001))
                == isoDate("2024-05-10T10:30:00Z")
        )
        #expect(schedule.next(after: isoDate("2024-12-31T23:59:00Z")) == isoDate("2025-01-01T00:00:00Z"))
    }

    static let common: [(String, String, [String])] = [
        (
            "* * * * *", "2024-02-28T23:58:10Z",
            ["2024-02-28T23:59:00Z", "2024-02-29T00:00:00Z", "2024-02-29T00:01:00Z"]
        ),
        ("0 9 * * MON-FRI", "2024-05-10T09:00:00Z", ["2024-05-13T09:00:00Z", "2024-05-14T09:00:00Z"]),
        ("30 8 1 * *", "2024-01-31T12:00:00Z", ["2024-02-01T08:30:00Z", "2024-03-01T08:30:00Z"]),
        (
            "0 0 31 * *", "2024-01-31T00:00:00Z",
            ["2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z"]
        ),
        ("0 0 30 * *", "2023-01-30T00:00:00Z", ["2023-03-30T00:00:00Z", "2023-04-30T00:00:00Z"]),
        ("0 0 29 2 *", "2024-03-01T00:00:00Z", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        ("0 0 29 2 *", "2096-03-01T00:00:00Z", ["2104-02-29T00:00:00Z"]),
        ("0 0 1 1 *", "2024-06-01T00:00:00Z", ["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]),
        (
            "1-30/10 * * * *", "2024-05-10T10:00:00Z",
            ["2024-05-10T10:01:00Z", "2024-05-10T10:11:00Z", "2024-05-10T10:21:00Z", "2024-05-10T11:01:00Z"]
        ),
        (
            "5/20 * * * *", "2024-05-10T10:00:00Z",
            ["2024-05-10T10:05:00Z", "2024-05-10T10:25:00Z", "2024-05-10T10:45:00Z"]
        ),
        ("0 */6 * * *", "2024-05-10T13:00:00Z", ["2024-05-10T18:00:00Z", "2024-05-11T00:00:00Z"]),
        ("0 12 * DEC SUN", "2024-01-01T00:00:00Z", ["2024-12-01T12:00:00Z", "2024-12-08T12:00:00Z"]),
        ("@monthly", "2024-12-15T00:00:00Z", ["2025-01-01T00:00:00Z"]),
        ("0 0 * * 7", "2024-05-10T00:00:00Z", ["2024-05-12T00:00:00Z", "2024-05-19T00:00:00Z"]),
        // Day-of-month OR day-of-week when both are restricted: Fridays and the 13th.
        (
            "0 0 13 * FRI", "2024-01-01T00:00:00Z",
            ["2024-01-05T00:00:00Z", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z", "2024-01-19T00:00:00Z"]
        ),
        (
            "0 0 1,15 * 3", "2024-05-01T00:00:00Z",
            ["2024-05-08T00:00:00Z", "2024-05-15T00:00:00Z", "2024-05-22T00:00:00Z"]
        ),
        // A field starting with '*' is unrestricted: both must match (odd days that are Mondays).
        (
            "0 0 */2 * MON", "2023-12-31T00:00:00Z",
            ["2024-01-01T00:00:00Z", "2024-01-15T00:00:00Z", "2024-01-29T00:00:00Z"]
        ),
        ("0 0 13 * *", "2024-01-01T00:00:00Z", ["2024-01-13T00:00:00Z", "2024-02-13T00:00:00Z"]),
        // A leap day that is a Sunday.
        ("0 0 29 2 */7", "2024-03-01T00:00:00Z", ["2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z"]),
    ]

    @Test("finds the next fire times of common schedules", arguments: common)
    func commonSchedules(expression: String, start: String, expected: [String]) throws {
        let schedule = try CronSchedule(parsing: expression)
        #expect(fireTimes(schedule, after: start, count: expected.count) == expected)
    }

    @Test("answers nil quickly for schedules that never fire")
    func neverFires() throws {
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for expression in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 feb *", "* * 31 2 */2"] {
                let schedule = try CronSchedule(parsing: expression, timeZone: "America/New_York")
                #expect(schedule.next(after: isoDate("2024-01-01T00:00:00Z")) == nil, "\(expression)")
            }
        }
        #expect(elapsed < .seconds(1))
        // Far beyond any calendar: nil, no trap.
        #expect(try CronSchedule(parsing: "* * * * *").next(after: .distantFuture.addingTimeInterval(1e13)) == nil)
    }

    @Test("agrees with a minute-by-minute scan in UTC")
    func bruteForce() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let expressions = [
            "*/7 * * * *", "0,30 9-17 * * 1-5", "15 */5 1,15,31 * *", "0 0 * * 0", "45 23 28-31 * *",
            "0 12 13 * 5", "*/20 3 */3 * *", "0 0 29 * *", "10 10 * 2,3 SAT",
        ]
        var random = SplitMix64(seed: 99)
        for expression in expressions {
            let schedule = try CronSchedule(parsing: expression)
            for _ in 0..<3 {
                let start = Date(
                    timeIntervalSince1970: Double(Int.random(in: 1_700_000_000...1_760_000_000, using: &random)))
                // The naive answer: the first whole minute after `start` whose fields match (UTC has
                // no offset changes, so the hour and minute come from the seconds directly).
                var candidate = Date(timeIntervalSince1970: (start.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
                var expected: Date? = nil
                var dayCache: (day: Int, matches: Bool)? = nil
                for _ in 0..<(200 * 1_440) {
                    let seconds = Int(candidate.timeIntervalSince1970)
                    let dayNumber = seconds / 86_400
                    if dayCache?.day != dayNumber {
                        let parts = calendar.dateComponents([.day, .month, .weekday], from: candidate)
                        let dayOfMonth = schedule.daysOfMonth.contains(parts.day!)
                        let dayOfWeek = schedule.daysOfWeek.contains(parts.weekday! - 1)
                        let dayMatches =
                            schedule.daysOfMonth.isStar || schedule.daysOfWeek.isStar
                            ? dayOfMonth && dayOfWeek : dayOfMonth || dayOfWeek
                        dayCache = (dayNumber, dayMatches && schedule.months.contains(parts.month!))
                    }
                    if dayCache!.matches, schedule.hours.contains(seconds % 86_400 / 3_600),
                        schedule.minutes.contains(seconds % 3_600 / 60)
                    {
                        expected = candidate
                        break
                    }
                    candidate += 60
                }
                if let expected {
                    #expect(schedule.next(after: start) == expected, "\(expression) after \(start)")
                } else {
                    // Nothing within the scanned 200 days.
                    #expect(schedule.next(after: start).map { $0 >= candidate } ?? true, "\(expression) after \(start)")
                }
            }
        }
    }
}
