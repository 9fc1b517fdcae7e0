import Foundation
import TetherEngine

/// A manifest's times: RFC 3339 in UTC with three fractional digits
/// (`2026-11-23T11:07:00.123Z`), as the HTTP API writes them.
enum BackupTime {
    /// `2026-11-23T11:07:00.123Z` for a time in Unix milliseconds.
    static func format(milliseconds: Int64) -> String {
        let milliseconds = Int(milliseconds)
        let days = CivilTime.floorDivide(milliseconds, 86_400_000)
        let inDay = milliseconds - days * 86_400_000
        let (year, month, day) = CivilTime.date(days: days)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(inDay / 3_600_000, 2)):"
            + "\(pad(inDay / 60_000 % 60, 2)):\(pad(inDay / 1_000 % 60, 2)).\(pad(inDay % 1_000, 3))Z"
    }

    /// The Unix milliseconds of a time ``format(milliseconds:)`` wrote; nil for anything else.
    static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24 else { return nil }
        func number(_ start: Int, _ width: Int) -> Int? {
            var value = 0
            for byte in bytes[start..<(start + width)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        let separators: [(Int, Character)] = [
            (4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z"),
        ]
        guard separators.allSatisfy({ bytes[$0.0] == $0.1.asciiValue }),
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), let millis = number(20, 3),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        let days = CivilTime.days(year: year, month: month, day: day)
        return Int64(((days * 24 + hour) * 60 + minute) * 60 + second) * 1_000 + Int64(millis)
    }

    /// The wall clock, in Unix milliseconds.
    static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
