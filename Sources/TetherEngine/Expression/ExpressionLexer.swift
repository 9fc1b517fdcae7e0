/// Splits expression source into tokens, one at a time, so that errors come in source order.
struct ExpressionLexer {
    let source: [Character]
    private var offset = 0

    init(_ source: [Character]) {
        self.source = source
    }

    /// The next token, or `.end` at the end of the source.
    mutating func next() throws(ExpressionError) -> ExpressionToken {
        while offset < source.count, source[offset].isWhitespace { offset += 1 }
        let start = offset
        guard offset < source.count else { return ExpressionToken(kind: .end, start: start, end: start) }
        let character = source[offset]
        offset += 1
        func token(_ kind: ExpressionToken.Kind) -> ExpressionToken {
            ExpressionToken(kind: kind, start: start, end: offset)
        }
        switch character {
        case ".": return token(.dot)
        case "[": return token(.openBracket)
        case "]": return token(.closeBracket)
        case "(": return token(.openParen)
        case ")": return token(.closeParen)
        case "+": return token(.plus)
        case "-": return token(.minus)
        case "!": return token(skip(ifNext: "=") ? .notEqual : .not)
        case "<": return token(skip(ifNext: "=") ? .lessEqual : .less)
        case ">": return token(skip(ifNext: "=") ? .greaterEqual : .greater)
        case "=":
            if skip(ifNext: "=") { return token(.equal) }
            throw failure("unexpected '='", hint: "did you mean '=='?", at: start)
        case "&":
            if skip(ifNext: "&") { return token(.and) }
            throw failure("unexpected '&'", hint: "did you mean '&&'?", at: start)
        case "|":
            if skip(ifNext: "|") { return token(.or) }
            throw failure("unexpected '|'", hint: "did you mean '||'?", at: start)
        case "\"", "'":
            return token(.string(try lexString(quote: character, start: start)))
        default:
            if Self.isDigit(character) {
                offset = start
                return token(.number(try lexNumber()))
            }
            if Self.isNameStart(character) {
                while offset < source.count, Self.isNameContinuation(source[offset]) { offset += 1 }
                return token(.name(String(source[start..<offset])))
            }
            throw failure("unexpected '\(character)'", hint: Self.hint(forUnexpected: character), at: start)
        }
    }

    /// Moves past the next character when it is `expected`.
    private mutating func skip(ifNext expected: Character) -> Bool {
        guard offset < source.count, source[offset] == expected else { return false }
        offset += 1
        return true
    }

    // MARK: Character classes

    static func isDigit(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return ascii >= 0x30 && ascii <= 0x39
    }

    static func isNameStart(_ character: Character) -> Bool {
        character == "_" || character == "$" || character.isLetter
    }

    static func isNameContinuation(_ character: Character) -> Bool {
        isNameStart(character) || isDigit(character)
    }

    private static func hint(forUnexpected character: Character) -> String? {
        switch character {
        case "*", "/", "%": return "only '+' and '-' are supported"
        case "{", "}": return "object literals are not supported"
        case ",": return "lists are not supported"
        case "?", ":": return "conditionals are not supported"
        default: return nil
        }
    }

    // MARK: Literals

    /// `digits ('.' digits)? ([eE] [+-]? digits)?`: an integer when it has no fraction or exponent and fits in `Int64`.
    private mutating func lexNumber() throws(ExpressionError) -> JSONValue {
        let start = offset
        skipDigits()
        var isInteger = true
        // A dot not followed by a digit is left alone: `items.0` is a name error, not a number error.
        if offset + 1 < source.count, source[offset] == ".", Self.isDigit(source[offset + 1]) {
            isInteger = false
            offset += 1
            skipDigits()
        }
        if offset < source.count, source[offset] == "e" || source[offset] == "E" {
            isInteger = false
            offset += 1
            if offset < source.count, source[offset] == "+" || source[offset] == "-" { offset += 1 }
            guard offset < source.count, Self.isDigit(source[offset]) else {
                throw failure("expected a digit in the exponent", at: offset)
            }
            skipDigits()
        }
        let text = String(source[start..<offset])
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard let double = Double(text), double.isFinite else {
            throw failure("number \(text) is out of range", at: start)
        }
        return .double(double)
    }

    private mutating func skipDigits() {
        while offset < source.count, Self.isDigit(source[offset]) { offset += 1 }
    }

    /// A string in single or double quotes with JSON's escapes plus `\'`.
    private mutating func lexString(quote: Character, start: Int) throws(ExpressionError) -> String {
        var result = ""
        while offset < source.count {
            let character = source[offset]
            offset += 1
            if character == quote { return result }
            if character != "\\" {
                result.append(character)
                continue
            }
            guard offset < source.count else { break }
            let escape = source[offset]
            offset += 1
            switch escape {
            case "\"", "'", "\\", "/": result.append(escape)
            case "n": result.append("\n")
            case "t": result.append("\t")
            case "r": result.append("\r")
            case "b": result.append("\u{08}")
            case "f": result.append("\u{0C}")
            case "u": result.unicodeScalars.append(try lexUnicodeEscape(start: offset - 2))
            default:
                throw failure(
                    "invalid escape '\\\(escape)' in a string",
                    hint: "escapes are \\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                    at: offset - 2
                )
            }
        }
        throw failure("unterminated string", hint: "close it with \(quote)", at: start)
    }

    /// The scalar of `\uXXXX` (the `\u` already read), joining a surrogate pair `\uD83D\uDE00`.
    private mutating func lexUnicodeEscape(start: Int) throws(ExpressionError) -> Unicode.Scalar {
        let high = try hex4(escapeStart: start)
        if (0xDC00...0xDFFF).contains(high) {
            throw failure("unpaired surrogate in \\u escape", at: start)
        }
        guard (0xD800...0xDBFF).contains(high) else { return Unicode.Scalar(high)! }
        guard offset + 1 < source.count, source[offset] == "\\", source[offset + 1] == "u" else {
            throw failure("unpaired surrogate in \\u escape", at: start)
        }
        offset += 2
        let low = try hex4(escapeStart: offset - 2)
        guard (0xDC00...0xDFFF).contains(low) else {
            throw failure("expected a low surrogate \\uDC00-\\uDFFF", at: offset - 6)
        }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
    }

    private mutating func hex4(escapeStart: Int) throws(ExpressionError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard offset < source.count, let digit = source[offset].hexDigitValue, source[offset].isASCII else {
                throw failure("expected 4 hex digits after \\u", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    func failure(_ message: String, hint: String? = nil, at position: Int) -> ExpressionError {
        ExpressionError(message, hint: hint, at: position, in: source)
    }
}
