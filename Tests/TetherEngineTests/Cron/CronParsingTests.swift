import Foundation
import Testing

@testable import TetherEngine

@Suite("Cron parsing")
struct CronParsingTests {
    private func values(_ bits: UInt64) -> [Int] {
        (0..<64).filter { bits & (1 << UInt64($0)) != 0 }
    }

    @Test("parses stars, lists, ranges, steps and names")
    func fields() throws {
        let schedule = try CronSchedule(parsing: "*/15 1-21/10,23 5/10 jan,Mar-MAY sun-TUE,fri")
        #expect(values(schedule.minutes.bits) == [0, 15, 30, 45])
        #expect(values(schedule.hours.bits) == [1, 11, 21, 23])
        #expect(values(schedule.daysOfMonth.bits) == [5, 15, 25])
        #expect(values(schedule.months.bits) == [1, 3, 4, 5])
        #expect(values(schedule.daysOfWeek.bits) == [0, 1, 2, 5])
        #expect(schedule.minutes.isStar && !schedule.hours.isStar)

        let everything = try CronSchedule(parsing: "* * * * *")
        #expect(values(everything.minutes.bits) == Array(0...59))
        #expect(values(everything.hours.bits) == Array(0...23))
        #expect(values(everything.daysOfMonth.bits) == Array(1...31))
        #expect(values(everything.months.bits) == Array(1...12))
        #expect(values(everything.daysOfWeek.bits) == Array(0...6))
        #expect(values(try CronSchedule(parsing: "0 0 * * 5-7").daysOfWeek.bits) == [0, 5, 6])
        #expect(values(try CronSchedule(parsing: "0 0 * * */2").daysOfWeek.bits) == [0, 2, 4, 6])
        // Found by the cron fuzzer: `7/step` built the reversed range 7...6 and trapped.
        #expect(values(try CronSchedule(parsing: "* * * * 7/1").daysOfWeek.bits) == [0])
        #expect(values(try CronSchedule(parsing: "0 7 7 7 7/7").daysOfWeek.bits) == [0])
        #expect(values(try CronSchedule(parsing: "59 23 31 12 7").minutes.bits) == [59])
    }

    @Test("treats 0, 7 and SUN alike and compares by meaning")
    func equality() throws {
        let sunday = try CronSchedule(parsing: "0 0 * * 0")
        #expect(try CronSchedule(parsing: "0 0 * * 7") == sunday)
        #expect(try CronSchedule(parsing: "0 0 * * sun") == sunday)
        #expect(try CronSchedule(parsing: "@weekly") == sunday)
        #expect(try CronSchedule(parsing: "0 0 * * 1") != sunday)
        #expect(try CronSchedule(parsing: "0 0 * * *", timeZone: "Europe/Paris") != CronSchedule(parsing: "0 0 * * *"))
        #expect(
            try CronSchedule(parsing: "TZ=Europe/Paris 0 0 * * *")
                == CronSchedule(parsing: "0  0 *\t* *", timeZone: "Europe/Paris")
        )
        #expect(try CronSchedule(parsing: "CRON_TZ=Asia/Tokyo @daily").timeZone.identifier == "Asia/Tokyo")
        #expect(try CronSchedule(parsing: "@hourly") == CronSchedule(parsing: "0 * * * *"))
        #expect(try CronSchedule(parsing: "@yearly") == CronSchedule(parsing: "0 0 1 jan *"))
        #expect(try CronSchedule(parsing: "0 0 * * *", timeZone: "").timeZone.secondsFromGMT() == 0)
        #expect(try CronSchedule(parsing: " 5 4 * * * ").description == " 5 4 * * * ")
    }

    static let invalid: [(String, String?, String, Int?)] = [
        ("* * * *", nil, "expected 5 fields (minute hour day-of-month month day-of-week), found 4", nil),
        ("0 * * * * *", nil, "expected 5 fields (minute hour day-of-month month day-of-week), found 6", nil),
        ("", nil, "expected 5 fields (minute hour day-of-month month day-of-week), found 0", nil),
        ("61 * * * *", nil, "minute field: 61 is out of range 0-59", 0),
        ("* 24 * * *", nil, "hour field: 24 is out of range 0-23", 1),
        ("* * 0 * *", nil, "day-of-month field: 0 is out of range 1-31", 2),
        ("* * 32 * *", nil, "day-of-month field: 32 is out of range 1-31", 2),
        ("* * * 13 *", nil, "month field: 13 is out of range 1-12", 3),
        ("* * * 0 *", nil, "month field: 0 is out of range 1-12", 3),
        ("* * * * 8", nil, "day-of-week field: 8 is out of range 0-7", 4),
        ("99999999999999999999 * * * *", nil, "minute field: 99999999999999999999 is out of range 0-59", 0),
        ("*/0 * * * *", nil, "minute field: step 0 is out of range 1-59", 0),
        ("*/60 * * * *", nil, "minute field: step 60 is out of range 1-59", 0),
        ("* */x * * *", nil, "hour field: step 'x' is not a number", 1),
        ("*/ * * * *", nil, "minute field: step '' is not a number", 0),
        ("1/2/3 * * * *", nil, "minute field: '1/2/3' has more than one '/'", 0),
        ("30-10 * * * *", nil, "minute field: range 30-10 is reversed; write it from low to high", 0),
        ("* * * * FRI-MON", nil, "day-of-week field: range FRI-MON is reversed; write it from low to high", 4),
        ("1,,2 * * * *", nil, "minute field: empty item in list '1,,2'", 0),
        ("1, * * * *", nil, "minute field: empty item in list '1,'", 0),
        ("1- * * * *", nil, "minute field: '1-' is missing a value", 0),
        ("-5 * * * *", nil, "minute field: '-5' is missing a value", 0),
        ("MON * * * *", nil, "minute field: 'MON' is not a number", 0),
        ("* * * FOO *", nil, "month field: 'FOO' is not a month (1-12 or JAN-DEC)", 3),
        ("* * * * FUNDAY", nil, "day-of-week field: 'FUNDAY' is not a day of the week (0-7 or SUN-SAT)", 4),
        ("* * * * MONDAY", nil, "day-of-week field: 'MONDAY' is not a day of the week (0-7 or SUN-SAT)", 4),
        (
            "TZ=Mars/Olympus 0 0 * * *", nil,
            "unknown time zone 'Mars/Olympus'; use an IANA name such as America/New_York", nil
        ),
        (
            "0 0 * * *", "Nowhere/Land", "unknown time zone 'Nowhere/Land'; use an IANA name such as America/New_York",
            nil
        ),
        (
            "TZ=Europe/Paris 0 0 * * *", "America/New_York",
            "time zone given twice: 'TZ=Europe/Paris' and 'America/New_York'", nil
        ),
        ("@reboot", nil, "unknown macro '@reboot'; use @yearly, @monthly, @weekly, @daily or @hourly", nil),
    ]

    @Test("rejects invalid schedules naming the field", arguments: invalid)
    func rejects(expression: String, timeZone: String?, message: String, field: Int?) {
        #expect(throws: CronError(message: message, field: field)) {
            try CronSchedule(parsing: expression, timeZone: timeZone)
        }
    }

    @Test("accepts a matching time zone given twice")
    func sameZoneTwice() throws {
        let schedule = try CronSchedule(parsing: "TZ=Europe/Paris 0 0 * * *", timeZone: "Europe/Paris")
        #expect(schedule.timeZone.identifier == "Europe/Paris")
    }
}
