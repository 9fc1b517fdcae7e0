import Foundation
import OpenAPIRuntime
import TetherEngine

/// The API's times: RFC 3339 in UTC with exactly three fractional digits
/// (`2026-11-23T11:07:00.123Z`), which is what the coordinator stores (Unix milliseconds).
public enum APITimestamp {
    /// `2026-11-23T11:07:00.123Z` for a time in Unix milliseconds (0 and later).
    public static func format(milliseconds: Int64) -> String {
        let milliseconds = Int(milliseconds)
        let days = CivilTime.floorDivide(milliseconds, 86_400_000)
        let inDay = milliseconds - days * 86_400_000
        let (year, month, day) = CivilTime.date(days: days)
        let hour = inDay / 3_600_000
        let minute = inDay / 60_000 % 60
        let second = inDay / 1_000 % 60
        let millis = inDay % 1_000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))."
            + "\(pad(millis, 3))Z"
    }

    /// The Unix milliseconds of `2026-11-23T11:07:00.123Z`, `…T11:07:00Z` or any number of
    /// fractional digits (beyond three are cut), with `Z` or a `±hh:mm` offset; nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + width)] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second < 61
        else { return nil }
        var millis: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if digits < 3 { millis = millis * 10 + Int64(bytes[index] - 0x30) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        var offset: Int64 = 0
        if expect("Zz") {
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 60 + minutes) * 60_000
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = Int64(CivilTime.days(year: Int(year), month: Int(month), day: Int(day)))
        return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + min(second, 59) * 1_000 + millis - offset
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// Encodes and decodes the API's `date-time` values as ``APITimestamp`` does: whole
/// milliseconds, never the rounding errors of a `Double` of seconds.
public struct APIDateTranscoder: DateTranscoder {
    public init() {}

    public func encode(_ date: Date) throws -> String {
        APITimestamp.format(milliseconds: Int64((date.timeIntervalSince1970 * 1_000).rounded()))
    }

    public func decode(_ text: String) throws -> Date {
        guard let milliseconds = APITimestamp.parse(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "'\(text)' is not an RFC 3339 date-time"))
        }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1_000)
    }
}

extension Configuration {
    /// How the server and the client encode the API: compact JSON with sorted keys (as every
    /// answer of the coordinator), times as ``APITimestamp``.
    public static var tether: Configuration {
        Configuration(dateTranscoder: APIDateTranscoder(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])
    }
}

/// The API's JSON outside the generated operations (the status stream, `--json` output): the
/// encoder configured as ``OpenAPIRuntime/Configuration/tether`` configures the generated code's.
public enum APIEncoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let transcoder = APIDateTranscoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try transcoder.encode(date))
        }
        return encoder
    }
}
