import Testing

@testable import TetherEngine

@Suite("Expression evaluation")
struct ExpressionEvaluationTests {
    static let event: JSONValue = [
        "name": "order/created",
        "data": [
            "customerId": "c1",
            "total": 150,
            "ratio": 0.5,
            "items": [["sku": "A1", "qty": 2], ["sku": "B2", "qty": 1]],
            "weird key": "w",
            "empty": "",
            "zero": 0,
            "flag": true,
            "nothing": .null,
        ],
    ]
    static let async: JSONValue = ["name": "order/paid", "data": ["orderId": "c1", "amount": 150.0]]

    static func evaluate(_ source: String, async: JSONValue? = Self.async) throws -> JSONValue {
        try Expression(parsing: source).evaluate(event: event, async: async)
    }

    static let cases: [(String, JSONValue)] = [
        // Precedence: || < && < equality < relational < additive < unary.
        ("1 + 2 == 3", true),
        ("1 == 1 && 2 == 3 || true", true),
        ("true || false && false", true),
        ("(true || false) && false", false),
        ("!false && false", false),
        ("!(false && false)", true),
        ("-1 + 3", 2),
        ("-(1 + 3)", -4),
        ("1 - 2 - 3", -4),
        ("1 - (2 - 3)", 2),
        ("1 < 2 == true", true),
        ("2 > 1 == 1 < 2", true),
        ("1 + 1 < 3 && 'a' + 'b' == 'ab'", true),
        ("!event.data.flag == false", true),
        ("--5", 5),
        ("!!event.data.customerId", true),
        // Equality by value.
        ("1 == 1.0", true),
        ("1.0 != 1", false),
        ("null == null", true),
        ("event.data.missing == null", true),
        ("event.data.nothing == null", true),
        ("'a' == \"a\"", true),
        ("'1' == 1", false),
        ("true == 1", false),
        ("event.data.items[0] == event.data.items[0]", true),
        ("event.data.items[0] != event.data.items[1]", true),
        ("event.data.total == async.data.amount", true),
        ("9007199254740993 == 9007199254740992.0", false),
        // Ordering: numbers and strings only.
        ("1 < 2", true),
        ("2.5 > 2", true),
        ("1 <= 1.0", true),
        ("1 >= 1.5", false),
        ("-1 < -0.5", true),
        ("'abc' < 'abd'", true),
        ("'B' < 'a'", true),
        ("'é' > 'z'", true),
        ("'a' <= 'a'", true),
        ("'a' < 1", false),
        ("1 > 'a'", false),
        ("null < 1", false),
        ("null >= null", false),
        ("true > false", false),
        ("event.data.missing < 5", false),
        ("event.data.missing >= 5", false),
        // Truthiness, short-circuit, boolean results.
        ("event.data.customerId && 1", true),
        ("'' || 0", false),
        ("event.data.empty || event.data.zero || event.data.missing || event.data.nothing", false),
        ("event.data.items && event.data", true),
        ("!event.data.missing", true),
        ("!0", true),
        ("!0.0", true),
        ("!'x'", false),
        ("event.data.ratio || false", true),
        // Arithmetic.
        ("1 + 2", 3),
        ("1 + 0.5", 1.5),
        ("0.5 - 1", -0.5),
        ("5 - 7", -2),
        ("event.data.total + 1", 151),
        ("-event.data.total", -150),
        ("'a' + 'b'", "ab"),
        ("event.data.customerId + '-' + event.data.items[1].sku", "c1-B2"),
        ("9223372036854775807 + 1", .double(9_223_372_036_854_775_808)),
        ("-9223372036854775807 - 2", .double(-9_223_372_036_854_775_808)),
        ("-9223372036854775808", .double(-9_223_372_036_854_775_808)),
        ("1e308 + 1e308", .null),
        // Type mismatches give null.
        ("'a' + 1", .null),
        ("1 + 'a'", .null),
        ("null + 1", .null),
        ("true + 1", .null),
        ("'a' - 'b'", .null),
        ("-'a'", .null),
        ("-null", .null),
        ("event.data.items + 1", .null),
        ("(event.data.missing + 1) == null", true),
        // Paths.
        ("event.name", "order/created"),
        ("event.data.items[1].sku", "B2"),
        ("event.data[\"weird key\"]", "w"),
        ("event['data']['total']", 150),
        ("event.data.items[5].sku", .null),
        ("event.data.customerId.x", .null),
        ("event.data.items.sku", .null),
        ("event.data[0]", .null),
        ("event.data.items['0']", .null),
        ("event.data.true", .null),
        ("async.data.orderId", "c1"),
        ("async.data.orderId == event.data.customerId", true),
        // Literals.
        ("42", 42),
        ("4.25", 4.25),
        ("1e3", 1000.0),
        ("2E-1", 0.2),
        ("'single'", "single"),
        ("\"double\"", "double"),
        ("true", true),
        ("null", .null),
    ]

    @Test("evaluates operators, paths and literals", arguments: cases)
    func evaluates(source: String, expected: JSONValue) throws {
        let value = try Self.evaluate(source)
        #expect(value == expected, "\(source) gave \(value)")
        #expect(ExpressionEvaluationTests.kind(value) == ExpressionEvaluationTests.kind(expected), "\(source)")
    }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .int: return "int"
        case .double: return "double"
        default: return value.typeName
        }
    }

    @Test("evaluates async paths to null without an async event")
    func withoutAsync() throws {
        #expect(try Self.evaluate("async.data.orderId", async: nil) == .null)
        #expect(try Self.evaluate("async == null", async: nil) == true)
        #expect(try Self.evaluate("event", async: nil) == Self.event)
    }

    @Test("matches by truthiness")
    func matches() throws {
        let expression = try Expression(
            parsing: "event.data.total > 100 && async.data.orderId == event.data.customerId")
        #expect(expression.matches(event: Self.event, async: Self.async))
        #expect(!expression.matches(event: Self.event, async: ["data": ["orderId": "c2"]]))
        #expect(!expression.matches(event: Self.event))
        #expect(try Expression(parsing: "event.data.customerId").matches(event: Self.event))
        #expect(try !Expression(parsing: "event.data.empty").matches(event: Self.event))
        #expect(try !Expression(parsing: "event.data.missing").matches(event: .null))
        #expect(try Expression(parsing: "event.data.items").matches(event: Self.event))
    }

    @Test("reads string escapes")
    func stringEscapes() throws {
        #expect(try Self.evaluate(#""a\"b""#) == "a\"b")
        #expect(try Self.evaluate(#"'it\'s'"#) == "it's")
        #expect(try Self.evaluate(#"'say "hi"'"#) == "say \"hi\"")
        #expect(try Self.evaluate(#""\u00e9\u00C9""#) == "éÉ")
        #expect(try Self.evaluate(#"'\ud83d\ude00'"#) == "😀")
        #expect(try Self.evaluate(#"'\n\t\r\b\f\/\\'"#) == "\n\t\r\u{08}\u{0C}/\\")
        #expect(try Self.evaluate("'é😀 raw'") == "é😀 raw")
        #expect(try Self.evaluate("''") == "")
    }

    @Test("evaluates long flat chains without deep recursion")
    func longChains() throws {
        let sum = Array(repeating: "1", count: 1_000).joined(separator: "+")
        #expect(try Self.evaluate(sum) == 1_000)
        let ors = Array(repeating: "event.data.zero", count: 200).joined(separator: " || ") + " || true"
        #expect(try Self.evaluate(ors) == true)
        let ands = Array(repeating: "event.data.flag", count: 200).joined(separator: "&&")
        #expect(try Self.evaluate(ands) == true)
    }

    @Test("compares and prints expressions by source")
    func identity() throws {
        let a = try Expression(parsing: "event.data.x == 1")
        let b = try Expression(parsing: "event.data.x == 1")
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(a.description == "event.data.x == 1")
        #expect(a.source == "event.data.x == 1")
    }
}
