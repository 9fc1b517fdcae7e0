import Testing

@testable import TetherCoordinator

@Suite("Log text from peers")
struct LogTextTests {
    @Test("control characters are escaped, so a value cannot forge a log line")
    func escapes() {
        #expect(LogText.escaped("w1\nlevel=critical forged") == #"w1\nlevel=critical forged"#)
        #expect(LogText.escaped("a\r\tb\u{1B}[31m\u{2028}") == #"a\r\tb\u{1b}[31m\u{2028}"#)
        #expect(LogText.escaped(#"q"\"#) == #"q\"\\"#)
        #expect(LogText.escaped("plain-id_1.2") == "plain-id_1.2")
    }

    @Test("long values are cut and marked with their length")
    func caps() {
        let long = String(repeating: "x", count: 1 << 20)
        let logged = LogText.escaped(long)
        #expect(logged.hasPrefix(String(repeating: "x", count: LogText.maxCharacters)))
        #expect(logged.hasSuffix("…(1048576 bytes)"))
        #expect(logged.count < 200)
    }

    @Test("one line per interval gets through, with the count of those held back")
    func rateLimit() {
        var log = RateLimitedLog(intervalMilliseconds: 1_000)
        var lines: [Int] = []
        for now in stride(from: Int64(0), to: 2_500, by: 100) {
            log.record(now: now) { lines.append($0) }
        }
        #expect(lines == [0, 9, 9])
    }
}
