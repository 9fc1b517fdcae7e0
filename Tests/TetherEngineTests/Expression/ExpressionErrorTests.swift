import Testing

@testable import TetherEngine

@Suite("Expression errors")
struct ExpressionErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var source: String
        var message: String
        var position: Int
        var hint: String? = nil
        var testDescription: String { source }
    }

    static func error(_ source: String) -> ExpressionError? {
        do {
            _ = try Expression(parsing: source)
            return nil
        } catch {
            return error
        }
    }

    static let cases: [Case] = [
        Case(source: "event.data.x ==", message: "unexpected end of expression, expected a value", position: 15),
        Case(source: "event.data.x = 1", message: "unexpected '='", position: 13, hint: "did you mean '=='?"),
        Case(source: "event.a == 1 === 2", message: "unexpected '='", position: 15, hint: "did you mean '=='?"),
        Case(source: "(event.data.x == 1", message: "expected ')'", position: 18, hint: "to close the '(' at 1:1"),
        Case(source: "((1) 2", message: "expected ')'", position: 5, hint: "to close the '(' at 1:1"),
        Case(source: "1)", message: "unexpected ')'", position: 1, hint: "it closes no '('"),
        Case(
            source: "foo.bar == 1", message: "unknown name 'foo', expected event or async", position: 0
        ),
        Case(
            source: "event.x == 1 || data.y", message: "unknown name 'data', expected event or async", position: 16,
            hint: "paths start at event or async, e.g. event.data"
        ),
        Case(
            source: "event.x == True", message: "unknown name 'True', expected event or async", position: 11,
            hint: "did you mean 'true'?"),
        Case(source: "event.x and event.y", message: "unexpected 'and'", position: 8, hint: "did you mean '&&'?"),
        Case(
            source: "event.x event.y", message: "unexpected 'event'", position: 8,
            hint: "expected an operator such as '==' or '&&'"),
        Case(source: "", message: "empty expression", position: 0),
        Case(source: "   ", message: "empty expression", position: 3),
        Case(
            source: "event.items.0", message: "expected a field name after '.'", position: 12,
            hint: "use [0] for an array index"),
        Case(source: "event.", message: "expected a field name after '.'", position: 6),
        Case(source: "event.items[-1]", message: "an array index must be a non-negative integer", position: 12),
        Case(source: "event.items[1.5]", message: "an array index must be a non-negative integer", position: 12),
        Case(source: "event.items[0", message: "expected ']'", position: 13),
        Case(source: "event.items[x]", message: "expected an index or a quoted key inside '[ ]'", position: 12),
        Case(source: "1 +", message: "unexpected end of expression, expected a value", position: 3),
        Case(source: "1 + * 2", message: "unexpected '*'", position: 4, hint: "only '+' and '-' are supported"),
        Case(source: "== 1", message: "unexpected '==', expected a value", position: 0),
        Case(source: "event.a & event.b", message: "unexpected '&'", position: 8, hint: "did you mean '&&'?"),
        Case(source: "event.a | event.b", message: "unexpected '|'", position: 8, hint: "did you mean '||'?"),
        Case(source: "1e", message: "expected a digit in the exponent", position: 2),
        Case(source: "1e999", message: "number 1e999 is out of range", position: 0),
        Case(source: "'abc", message: "unterminated string", position: 0, hint: "close it with '"),
        Case(source: "event.x == \"abc", message: "unterminated string", position: 11, hint: "close it with \""),
        Case(
            source: #"'a\qb'"#, message: #"invalid escape '\q' in a string"#, position: 2,
            hint: #"escapes are \" \' \\ \/ \b \f \n \r \t \uXXXX"#),
        Case(source: #"'\u12'"#, message: #"expected 4 hex digits after \u"#, position: 1),
        Case(source: #"'\ud83d'"#, message: #"unpaired surrogate in \u escape"#, position: 1),
        Case(source: #"'\ud83d\u0041'"#, message: #"expected a low surrogate \uDC00-\uDFFF"#, position: 7),
        Case(source: "\"😀\" = 1", message: "unexpected '='", position: 4, hint: "did you mean '=='?"),
        Case(source: "event.x == 1 @", message: "unexpected '@'", position: 13),
    ]

    @Test("reports the message, position and hint", arguments: cases)
    func reports(testCase: Case) throws {
        let error = try #require(Self.error(testCase.source))
        #expect(error.message == testCase.message)
        #expect(error.position == testCase.position)
        #expect(error.hint == testCase.hint)
        #expect(error.line == 1)
        #expect(error.column == testCase.position + 1)
    }

    @Test("describes errors with line and column and a caret")
    func descriptions() throws {
        let equals = try #require(Self.error("event.data.x = 1"))
        #expect(equals.description == "unexpected '=' at 1:14 (did you mean '=='?)")
        #expect(
            equals.caretDescription == """
                event.data.x = 1
                             ^ unexpected '=' (did you mean '=='?)
                """
        )
        let paren = try #require(Self.error("(event.data.x==1"))
        #expect(paren.description == "expected ')' at 1:17 (to close the '(' at 1:1)")

        let multiline = try #require(Self.error("event.a == 1 &&\n\tevent.b = 2"))
        #expect(multiline.position == 25)
        #expect((multiline.line, multiline.column) == (2, 10))
        #expect(multiline.sourceLine == "\tevent.b = 2")
        #expect(multiline.caretDescription == "\tevent.b = 2\n\t        ^ unexpected '=' (did you mean '=='?)")

        let paren2 = try #require(Self.error("event.a == 1 &&\n(event.b"))
        #expect(paren2.hint == "to close the '(' at 2:1")
    }

    @Test("rejects sources over 4 KiB")
    func sourceLimit() throws {
        let long = String(repeating: "1 + ", count: 1_100) + "1"
        let error = try #require(Self.error(long))
        #expect(error.message == "expression is 4401 bytes, longer than the limit of 4096")
        #expect(error.position == 0)
        let fits = String(repeating: "1+", count: 2_047) + "1"
        #expect(fits.utf8.count == 4_095)
        #expect(try Expression(parsing: fits).evaluate(event: .null) == 2_048)
    }

    @Test("limits nesting to 64 levels without overflowing the stack")
    func nestingLimit() throws {
        let parens64 = String(repeating: "(", count: 64) + "1" + String(repeating: ")", count: 64)
        #expect(try Expression(parsing: parens64).evaluate(event: .null) == 1)
        let parens65 = String(repeating: "(", count: 65) + "1" + String(repeating: ")", count: 65)
        let error = try #require(Self.error(parens65))
        #expect(error.message == "expression is nested too deeply (more than 64 levels)")
        #expect(error.position == 64)

        #expect(try Expression(parsing: String(repeating: "!", count: 64) + "true").evaluate(event: .null) == true)
        #expect(Self.error(String(repeating: "!", count: 65) + "true")?.position == 64)
        #expect(Self.error(String(repeating: "-", count: 65) + "1")?.position == 64)
        #expect(Self.error(String(repeating: "(!-", count: 30) + "1")?.position == 64)
        #expect(Self.error(String(repeating: "(", count: 4_000))?.position == 64)
        #expect(Self.error(String(repeating: "!", count: 4_096))?.position == 64)
    }
}
