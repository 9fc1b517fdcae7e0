import Foundation
import Testing

@testable import TetherEngine

@Suite("Cron time zones")
struct CronTimeZoneTests {
    private func schedule(_ expression: String, _ zone: String = "America/New_York") throws -> CronSchedule {
        try CronSchedule(parsing: expression, timeZone: zone)
    }

    @Test("reads fields in the schedule's time zone")
    func zones() throws {
        let paris = try CronSchedule(parsing: "TZ=Europe/Paris 0 9 * * *")
        #expect(fireTimes(paris, after: "2024-01-15T12:00:00Z", count: 1) == ["2024-01-16T08:00:00Z"])
        #expect(fireTimes(paris, after: "2024-07-15T12:00:00Z", count: 1) == ["2024-07-16T07:00:00Z"])
        let kolkata = try schedule("0 0 * * *", "Asia/Kolkata")
        #expect(fireTimes(kolkata, after: "2024-05-10T00:00:00Z", count: 1) == ["2024-05-10T18:30:00Z"])
        let nepal = try schedule("0 * * * *", "Asia/Kathmandu")
        #expect(
            fireTimes(nepal, after: "2024-05-10T00:00:00Z", count: 2) == [
                "2024-05-10T00:15:00Z", "2024-05-10T01:15:00Z",
            ])
        // Day-of-week is the local day: Monday 00:30 in Tokyo is Sunday in UTC.
        let tokyo = try schedule("30 0 * * MON", "Asia/Tokyo")
        #expect(fireTimes(tokyo, after: "2024-05-10T00:00:00Z", count: 1) == ["2024-05-12T15:30:00Z"])
    }

    @Test("spring forward: skipped times fire once when the gap ends")
    func springForward() throws {
        // 2024-03-10: New York goes from 01:59:59 EST to 03:00:00 EDT (07:00 UTC).
        let daily = try schedule("30 2 * * *")
        #expect(
            fireTimes(daily, after: "2024-03-09T02:30:00-05:00", count: 3)
                == ["2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z"]
        )
        let hourly = try schedule("0 * * * *")
        #expect(
            fireTimes(hourly, after: "2024-03-10T00:30:00-05:00", count: 3)
                == ["2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z"]
        )
        let quarterly = try schedule("*/15 * * * *")
        #expect(
            fireTimes(quarterly, after: "2024-03-10T01:40:00-05:00", count: 3)
                == ["2024-03-10T06:45:00Z", "2024-03-10T07:00:00Z", "2024-03-10T07:15:00Z"]
        )
        let three = try schedule("0 3 * * *")
        #expect(fireTimes(three, after: "2024-03-10T00:00:00-05:00", count: 1) == ["2024-03-10T07:00:00Z"])
        // A whole skipped day: Samoa jumped from 2011-12-29 to 2011-12-31 (then UTC+14 in summer).
        let apia = try schedule("0 12 30 12 *", "Pacific/Apia")
        #expect(
            fireTimes(apia, after: "2011-12-01T00:00:00Z", count: 2) == [
                "2011-12-30T10:00:00Z", "2012-12-29T22:00:00Z",
            ]
        )
    }

    @Test("fall back: fixed hours fire once, wildcard hours follow real time")
    func fallBack() throws {
        // 2024-11-03: New York goes from 01:59:59 EDT back to 01:00:00 EST (06:00 UTC).
        let daily = try schedule("30 1 * * *")
        #expect(
            fireTimes(daily, after: "2024-11-03T00:00:00-04:00", count: 2)
                == ["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"]
        )
        // Asked during the second pass of the repeated hour: 01:30 already happened today.
        #expect(fireTimes(daily, after: "2024-11-03T01:10:00-05:00", count: 1) == ["2024-11-04T06:30:00Z"])
        let quarter = try schedule("*/15 1 * * *")
        #expect(
            fireTimes(quarter, after: "2024-11-03T01:40:00-04:00", count: 2)
                == ["2024-11-03T05:45:00Z", "2024-11-04T06:00:00Z"]
        )
        let two = try schedule("0 2 * * *")
        #expect(fireTimes(two, after: "2024-11-02T03:00:00-04:00", count: 1) == ["2024-11-03T07:00:00Z"])

        let hourly = try schedule("0 * * * *")
        #expect(
            fireTimes(hourly, after: "2024-11-03T00:30:00-04:00", count: 3)
                == ["2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"]
        )
        let halfHourly = try schedule("*/30 * * * *")
        #expect(
            fireTimes(halfHourly, after: "2024-11-03T01:45:00-04:00", count: 3)
                == ["2024-11-03T06:00:00Z", "2024-11-03T06:30:00Z", "2024-11-03T07:00:00Z"]
        )
        #expect(fireTimes(halfHourly, after: "2024-11-03T01:59:59-04:00", count: 1) == ["2024-11-03T06:00:00Z"])
    }

    @Test("every minute across both transitions of a year stays in order with no repeats")
    func yearOfMinutes() throws {
        let schedule = try schedule("7 * * * *")
        var cursor = isoDate("2024-01-01T00:00:00Z")
        var previous = cursor
        for _ in 0..<(366 * 24) {
            let next = try #require(schedule.next(after: cursor))
            #expect(next > previous)
            #expect(next.timeIntervalSince(previous) <= 3_600 || previous == isoDate("2024-01-01T00:00:00Z"))
            previous = next
            cursor = next
        }
    }
}
