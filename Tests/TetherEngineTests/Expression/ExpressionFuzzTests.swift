import Testing

@testable import TetherEngine

@Suite("Expression fuzzing")
struct ExpressionFuzzTests {
    static let alphabet = [
        "event", "async", ".", "data", "items", "[", "]", "0", "1", "2.5", "1e3", "1e", "-", "+", "!", "==", "!=",
        "<", "<=", ">", ">=", "&&", "||", "(", ")", "'x'", "\"y\"", "'", "\"", "\\", "\\u", "true", "false",
        "null", "=", "&", "|", "*", " ", "\n", "\t", "foo", "é", "😀", "9223372036854775808", "['k']", "[0]",
    ]

    static let events: [JSONValue] = [
        .null,
        ["data": ["items": [["k": 1], "x"], "k": "v", "0": 0]],
        ["data": [1, 2, 3]],
        "string",
    ]

    @Test("parses and evaluates 5,000 random token strings without crashing")
    func randomTokenStrings() {
        var random = SplitMix64(seed: 0x7E7E_7E7E)
        var parsed = 0
        for _ in 0..<5_000 {
            let count = Int.random(in: 1...24, using: &random)
            let source = (0..<count).map { _ in Self.alphabet.randomElement(using: &random)! }.joined()
            check(source, parsed: &parsed)
        }
        // Some random inputs are valid, so evaluation is exercised too.
        #expect(parsed > 25)
    }

    @Test("parses 2,000 random well-formed expressions and evaluates them")
    func randomWellFormed() throws {
        var random = SplitMix64(seed: 2_024)
        for _ in 0..<2_000 {
            let source = Self.wellFormed(depth: 0, using: &random)
            let expression = try Expression(parsing: source)
            for event in Self.events {
                _ = expression.evaluate(event: event, async: Self.events[1])
            }
        }
    }

    /// A random expression of the grammar, nested at most 6 levels.
    static func wellFormed(depth: Int, using random: inout SplitMix64) -> String {
        let leaves = [
            "event.data.k", "async.data.items[0]['k']", "event.data[\"0\"]", "1", "2.5", "-3", "'x'", "\"y\\n\"",
            "true", "false", "null", "event", "async.data",
        ]
        if depth >= 6 || Int.random(in: 0..<3, using: &random) == 0 {
            return leaves.randomElement(using: &random)!
        }
        let operators = ["==", "!=", "<", "<=", ">", ">=", "&&", "||", "+", "-"]
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return "!" + wellFormed(depth: depth + 1, using: &random)
        case 1: return "(" + wellFormed(depth: depth + 1, using: &random) + ")"
        default:
            let op = operators.randomElement(using: &random)!
            return wellFormed(depth: depth + 1, using: &random) + " \(op) "
                + wellFormed(depth: depth + 1, using: &random)
        }
    }

    @Test("survives random characters and deep random nesting")
    func randomCharacters() {
        var random = SplitMix64(seed: 42)
        let characters = Array("ea.[]()0123456789-+!=<>&|'\"\\ u{}é\n")
        var parsed = 0
        for _ in 0..<2_000 {
            let count = Int.random(in: 0...64, using: &random)
            check(String((0..<count).map { _ in characters.randomElement(using: &random)! }), parsed: &parsed)
        }
        for _ in 0..<50 {
            let depth = Int.random(in: 60...2_000, using: &random)
            let prefix = (0..<depth).map { _ in ["(", "!", "-", "!(", "-("].randomElement(using: &random)! }.joined()
            check(prefix + "event.data", parsed: &parsed)
        }
    }

    private func check(_ source: String, parsed: inout Int) {
        do {
            let expression = try Expression(parsing: source)
            parsed += 1
            for event in Self.events {
                for async in Self.events {
                    _ = expression.evaluate(event: event, async: async)
                    _ = expression.matches(event: event, async: async)
                }
            }
            _ = expression.paths(root: .event)
            _ = expression.equalityJoins
        } catch {
            let length = source.count
            #expect((0...length).contains(error.position), "\(source)")
            #expect(error.line >= 1 && error.column >= 1, "\(source)")
            #expect(!error.message.isEmpty)
            _ = error.caretDescription
        }
    }
}
