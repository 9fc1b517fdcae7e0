import Hummingbird
import Testing

@testable import TetherCoordinator
@testable import TetherEngine

@Suite("Event parsing: numbers a client sends")
struct EventParsingTests {
    static func parse(_ body: String) throws(APIError) -> [IncomingEvent] {
        try EventParsing.parse(Array(body.utf8), limits: .default)
    }

    /// The error `body` is rejected with, or nil when it parses.
    static func error(_ body: String) -> APIError? {
        do {
            _ = try parse(body)
            return nil
        } catch {
            return error
        }
    }

    @Test(
        "a ts that is not a whole number of milliseconds from 0 to year 9999 is invalid_input, never a trap",
        arguments: [
            "1e19", "9223372036854775807", "9223372036854775808", "18446744073709551616", "1.7e308", "-1e19",
            "123456789012345678901234567890", "-123456789012345678901234567890", "-0.5", "1.5", "-1",
            "253402300800000", "1e15", "\"1700000000000\"", "true", "[1]",
        ])
    func badTimestamp(_ ts: String) throws {
        let error = try #require(Self.error(#"{"name":"x","data":{},"ts":\#(ts)}"#), "ts \(ts) was accepted")
        #expect(error.status == .badRequest)
        #expect(error.code == .invalid_input)
        #expect(error.message.contains("\"ts\""), "\(error.message)")
        // In a batch, the message names the event.
        let batched = try #require(Self.error(#"[{"name":"x"},{"name":"y","ts":\#(ts)}]"#))
        #expect(batched.code == .invalid_input)
        #expect(batched.message.hasPrefix("event 1: "), "\(batched.message)")
    }

    @Test("a number beyond Double's range (over about 1.798e308) is rejected by the JSON parser as invalid_json")
    func numberOutOfRange() throws {
        for ts in ["1e400", "-1e400", "1.8e308"] {
            let error = try #require(Self.error(#"{"name":"x","ts":\#(ts)}"#))
            #expect(error.status == .badRequest)
            #expect(error.code == .invalid_json, "\(error.message)")
        }
    }

    @Test("whole numbers from 0 to year 9999 are accepted, written as integers or integral doubles")
    func goodTimestamp() throws {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("-0", 0), ("-0.0", 0), ("1700000000123", 1_700_000_000_123), ("1.7e12", 1_700_000_000_000),
            ("1700000000123.0", 1_700_000_000_123), ("253402300799999", Limits.default.maxEventTimestampMilliseconds),
            ("null", nil),
        ]
        for (ts, expected) in cases {
            let events = try Self.parse(#"{"name":"x","data":{},"ts":\#(ts)}"#)
            #expect(events.map(\.timestampMilliseconds) == [expected], "ts \(ts)")
        }
        #expect(try Self.parse(#"{"name":"x"}"#).first?.timestampMilliseconds == nil)
    }
}
