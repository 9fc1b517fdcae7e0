import Testing

@testable import TetherEngine

@Suite("JSONValue parsing")
struct JSONValueParsingTests {
    static let validDocuments: [(String, JSONValue)] = [
        ("null", .null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .int(0)),
        ("-0", .int(0)),
        ("123", .int(123)),
        ("-42", .int(-42)),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("12345678901234567890", .double(12_345_678_901_234_567_168)),
        ("1.5", .double(1.5)),
        ("1e3", .double(1000)),
        ("1E+2", .double(100)),
        ("-1.25e-3", .double(-0.00125)),
        ("0.0", .double(0)),
        ("1e-400", .double(0)),
        ("\"\"", .string("")),
        ("\"a\\\"b\"", .string("a\"b")),
        ("\"\\/\\b\\f\\n\\r\\t\\\\\"", .string("/\u{08}\u{0C}\n\r\t\\")),
        ("\"\\u00e9\\u00E9\"", .string("éé")),
        ("\"\\ud83d\\ude00\"", .string("😀")),
        ("\"é😀\u{7F}\"", .string("é😀\u{7F}")),
        ("\"\\u0000\"", .string("\u{0}")),
        ("[]", .array([])),
        ("{}", .object([:])),
        ("[1,[2,{}],\"x\"]", [1, [2, [:]], "x"]),
        ("{\"a\":1,\"b\":[true,null]}", ["a": 1, "b": [true, .null]]),
        (" \t\n\r{ \"a\" : 1 ,\"b\":{\"c\":\"d\"}} \n", ["a": 1, "b": ["c": "d"]]),
    ]

    @Test("parses valid documents", arguments: validDocuments)
    func valid(text: String, expected: JSONValue) throws {
        let value = try JSONValue(parsing: Array(text.utf8))
        #expect(value == expected)
        // Integers stay integers and doubles stay doubles.
        #expect(Self.kind(of: value) == Self.kind(of: expected))
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .int: return "int"
        case .double: return "double"
        default: return value.typeName
        }
    }

    static let invalidDocuments: [(String, String)] = [
        ("", "unexpected end of input, expected a value at byte 0"),
        ("   ", "unexpected end of input, expected a value at byte 3"),
        ("[1,2,]", "trailing comma in an array at byte 5"),
        ("{\"a\":1,}", "trailing comma in an object at byte 7"),
        ("// comment\n1", "unexpected '/', expected a value at byte 0"),
        ("[1] /* c */", "unexpected '/' after the end of the document at byte 4"),
        ("NaN", "unexpected 'N', expected a value at byte 0"),
        ("[Infinity]", "unexpected 'I', expected a value at byte 1"),
        ("-Infinity", "unexpected 'I', expected a digit at byte 1"),
        ("01", "leading zeros are not allowed at byte 0"),
        ("-012", "leading zeros are not allowed at byte 1"),
        ("+1", "unexpected '+', expected a value at byte 0"),
        (".5", "unexpected '.', expected a value at byte 0"),
        ("1.", "unexpected end of input, expected a digit after '.' at byte 2"),
        ("1.e5", "unexpected 'e', expected a digit after '.' at byte 2"),
        ("1e", "unexpected end of input, expected a digit in the exponent at byte 2"),
        ("1e+", "unexpected end of input, expected a digit in the exponent at byte 3"),
        ("-", "unexpected end of input, expected a digit at byte 1"),
        ("1e400", "number is out of range at byte 0"),
        ("[-1e999]", "number is out of range at byte 1"),
        ("tru", "invalid literal, expected 'true' at byte 0"),
        ("nul", "invalid literal, expected 'null' at byte 0"),
        ("True", "unexpected 'T', expected a value at byte 0"),
        ("\"a\u{01}b\"", "unescaped control character byte 0x01 in a string at byte 2"),
        ("\"a\nb\"", "unescaped control character byte 0x0A in a string at byte 2"),
        ("\"abc", "unterminated string at byte 0"),
        ("[\"abc\\", "unterminated string at byte 6"),
        ("\"\\x\"", "invalid escape \\x at byte 1"),
        ("\"\\ud83d\"", "unpaired surrogate in \\u escape at byte 1"),
        ("\"\\ude00\"", "unpaired surrogate in \\u escape at byte 1"),
        ("\"\\ud83d\\u0041\"", "expected a low surrogate \\uDC00-\\uDFFF at byte 7"),
        ("\"\\u12G4\"", "unexpected 'G', expected a hex digit in \\u escape at byte 5"),
        ("\"\\u12", "unterminated \\u escape at byte 5"),
        ("{\"a\" 1}", "unexpected '1', expected ':' after an object key at byte 5"),
        ("{\"a\":1 \"b\":2}", "unexpected '\"', expected ',' or '}' at byte 7"),
        ("{1:2}", "unexpected '1', expected a string key at byte 1"),
        ("{'a':1}", "unexpected ''', expected a string key at byte 1"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\" at byte 7"),
        ("[1 2]", "unexpected '2', expected ',' or ']' at byte 3"),
        ("[1,,2]", "unexpected ',', expected a value at byte 3"),
        ("[", "unexpected end of input, expected a value at byte 1"),
        ("{", "unexpected end of input, expected a string key at byte 1"),
        ("{\"a\":", "unexpected end of input, expected a value at byte 5"),
        ("1 2", "unexpected '2' after the end of the document at byte 2"),
        ("\u{0C}1", "unexpected byte 0x0C, expected a value at byte 0"),
    ]

    @Test("rejects invalid documents with the byte offset", arguments: invalidDocuments)
    func invalid(text: String, message: String) {
        #expect(throws: TetherError(.invalidJSON, message)) { try JSONValue(parsing: text) }
    }

    static let invalidUTF8: [([UInt8], String)] = [
        ([0x22, 0xC3, 0x28, 0x22], "invalid UTF-8 at byte 1"),  // bad continuation
        ([0x22, 0xC0, 0xAF, 0x22], "invalid UTF-8 at byte 1"),  // overlong '/'
        ([0x22, 0xE0, 0x80, 0xAF, 0x22], "invalid UTF-8 at byte 1"),  // overlong 3-byte
        ([0x22, 0xED, 0xA0, 0x80, 0x22], "invalid UTF-8 at byte 1"),  // encoded surrogate
        ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "invalid UTF-8 at byte 1"),  // above U+10FFFF
        ([0x22, 0x61, 0xFF, 0x22], "invalid UTF-8 at byte 2"),
        ([0x22, 0xE2, 0x82], "invalid UTF-8 at byte 1"),  // truncated
        ([0xEF, 0xBB, 0xBF, 0x31], "unexpected byte 0xEF, expected a value at byte 0"),  // BOM
        ([0x31, 0x00], "unexpected byte 0x00 after the end of the document at byte 1"),
    ]

    @Test("rejects invalid UTF-8", arguments: invalidUTF8)
    func invalidBytes(bytes: [UInt8], message: String) {
        #expect(throws: TetherError(.invalidJSON, message)) { try JSONValue(parsing: bytes) }
    }

    @Test("accepts 128 levels of nesting and rejects 129")
    func nestingLimit() throws {
        let deepest = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        var value = try JSONValue(parsing: deepest)
        var depth = 0
        while case .array(let elements) = value, let first = elements.first {
            value = first
            depth += 1
        }
        #expect(depth == 127)
        let tooDeep = String(repeating: "{\"a\":", count: 64) + String(repeating: "[", count: 65) + "1"
        #expect(throws: TetherError(.invalidJSON, "nesting deeper than 128 levels at byte 384")) {
            try JSONValue(parsing: tooDeep)
        }
        // Far deeper input fails fast instead of overflowing the stack.
        #expect(throws: TetherError.self) { try JSONValue(parsing: String(repeating: "[", count: 1_000_000)) }
    }

    @Test("parses collections that are not contiguous")
    func nonContiguous() throws {
        let bytes = Array("{\"k\":[1,\"é\"]}".utf8).lazy.map { $0 }
        #expect(try JSONValue(parsing: bytes) == ["k": [1, "é"]])
        #expect(throws: TetherError(.invalidJSON, "unexpected end of input, expected ',' or ']' at byte 5")) {
            try JSONValue(parsing: Array("[1, 2".utf8).lazy.map { $0 })
        }
    }

    @Test("keeps big integers exact and compares numbers by value")
    func numbers() throws {
        #expect(try JSONValue(parsing: "9007199254740993") == .int(9_007_199_254_740_993))
        #expect(JSONValue.int(9_007_199_254_740_993) != .double(9_007_199_254_740_992))
        #expect(JSONValue.int(.max) != .double(Double(Int64.max)))  // 2^63 is one more than Int64.max
        #expect(JSONValue.int(1) == .double(1.0))
        #expect(JSONValue.int(0) == .double(-0.0))
        #expect(JSONValue.int(-3) != .double(-3.5))
        #expect(Set<JSONValue>([.int(1), .double(1.0), .double(1.5), .int(2)]).count == 3)
        #expect(JSONValue.double(1e300).int64Value == nil)
        #expect(JSONValue.double(42).int64Value == 42)
        #expect(JSONValue.int(7).doubleValue == 7)
    }
}
