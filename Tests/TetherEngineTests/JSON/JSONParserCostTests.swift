import Foundation
import Testing

@testable import TetherEngine

/// The coordinator parses every step output a worker reports (up to 4 MiB) on its scheduler's
/// event loop, so parsing must stay linear in the input, escapes included.
@Suite("JSONValue parsing cost")
struct JSONParserCostTests {
    @Test("a 4 MiB string made of escapes parses in linear time and decodes exactly")
    func longEscapedString() throws {
        // 4 MiB of `\n` and `\u00e9` escapes with text between them. Quadratic (a copy of the
        // decoded prefix at every escape), this took 20 s in a release build.
        let unit = #"ab\ncd\u00e9\""#
        let count = 4 * 1024 * 1024 / unit.utf8.count
        let bytes = Array(("\"" + String(repeating: unit, count: count) + "\"").utf8)
        let start = ContinuousClock.now
        let value = try JSONValue(parsing: bytes)
        let elapsed = ContinuousClock.now - start
        #expect(value == .string(String(repeating: "ab\ncdé\"", count: count)))
        // Linear takes well under a second even in a debug build.
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }
}
