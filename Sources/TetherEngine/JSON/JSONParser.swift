/// A strict RFC 8259 parser over contiguous UTF-8 bytes.
///
/// Rejects trailing commas, comments, `NaN`/`Infinity`, leading zeros, unescaped control
/// characters, invalid UTF-8, lone surrogates, duplicate object keys and nesting deeper than
/// ``maxDepth``. Errors are `invalid_json` with a 0-based byte offset.
struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    static let maxDepth = 128

    let bytes: UnsafeBufferPointer<UInt8>
    /// The cursor: offset of the next byte to read.
    var index = 0
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses one value surrounded by optional whitespace, and nothing else.
    mutating func parseDocument() throws(TetherError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw failure("unexpected \(describe(bytes[index])) after the end of the document")
        }
        return value
    }

    private mutating func parseValue() throws(TetherError) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of input, expected a value") }
        switch bytes[index] {
        case ASCII.openBrace: return try parseObject()
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return .string(try parseString())
        case ASCII.lowerT: return try parseLiteral("true", .bool(true))
        case ASCII.lowerF: return try parseLiteral("false", .bool(false))
        case ASCII.lowerN: return try parseLiteral("null", .null)
        case ASCII.minus, ASCII.zero...ASCII.nine: return try parseNumber()
        case let byte: throw failure("unexpected \(describe(byte)), expected a value")
        }
    }

    // MARK: Containers

    private mutating func parseObject() throws(TetherError) -> JSONValue {
        try enterContainer()
        index += 1
        skipWhitespace()
        var members: [String: JSONValue] = [:]
        if peek() == ASCII.closeBrace {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            guard peek() == ASCII.quote else {
                if peek() == ASCII.closeBrace { throw failure("trailing comma in an object") }
                throw failure("\(found()), expected a string key")
            }
            let keyStart = index
            let key = try parseString()
            skipWhitespace()
            guard peek() == ASCII.colon else { throw failure("\(found()), expected ':' after an object key") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            if members.updateValue(value, forKey: key) != nil {
                throw failure("duplicate key \(JSONValue.string(key))", at: keyStart)
            }
            skipWhitespace()
            switch peek() {
            case ASCII.comma:
                index += 1
                skipWhitespace()
            case ASCII.closeBrace:
                index += 1
                depth -= 1
                return .object(members)
            default:
                throw failure("\(found()), expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray() throws(TetherError) -> JSONValue {
        try enterContainer()
        index += 1
        skipWhitespace()
        var elements: [JSONValue] = []
        if peek() == ASCII.closeBracket {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            if peek() == ASCII.closeBracket { throw failure("trailing comma in an array") }
            elements.append(try parseValue())
            skipWhitespace()
            switch peek() {
            case ASCII.comma:
                index += 1
                skipWhitespace()
            case ASCII.closeBracket:
                index += 1
                depth -= 1
                return .array(elements)
            default:
                throw failure("\(found()), expected ',' or ']'")
            }
        }
    }

    private mutating func enterContainer() throws(TetherError) {
        depth += 1
        if depth > Self.maxDepth { throw failure("nesting deeper than \(Self.maxDepth) levels") }
    }

    // MARK: Scalars

    private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(TetherError) -> JSONValue {
        let start = index
        let length = word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { expected in
            bytes.count - start >= length && expected.indices.allSatisfy { bytes[start + $0] == expected[$0] }
        }
        guard matches else { throw failure("invalid literal, expected '\(word)'") }
        index += length
        return value
    }

    private mutating func parseNumber() throws(TetherError) -> JSONValue {
        let start = index
        var isInteger = true
        if peek() == ASCII.minus { index += 1 }
        guard isDigit(peek()) else { throw failure("\(found()), expected a digit") }
        if bytes[index] == ASCII.zero {
            index += 1
            if isDigit(peek()) { throw failure("leading zeros are not allowed", at: index - 1) }
        } else {
            skipDigits()
        }
        if peek() == ASCII.dot {
            isInteger = false
            index += 1
            guard isDigit(peek()) else { throw failure("\(found()), expected a digit after '.'") }
            skipDigits()
        }
        if peek() == ASCII.lowerE || peek() == ASCII.upperE {
            isInteger = false
            index += 1
            if peek() == ASCII.plus || peek() == ASCII.minus { index += 1 }
            guard isDigit(peek()) else { throw failure("\(found()), expected a digit in the exponent") }
            skipDigits()
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        if isInteger, let exact = Self.exactInteger(text) { return .int(exact) }
        guard let double = Double(String(decoding: text, as: UTF8.self)), double.isFinite else {
            throw failure("number is out of range", at: start)
        }
        return .double(double)
    }

    /// The value of an optionally negative decimal integer, or nil when it does not fit in `Int64`.
    private static func exactInteger(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        let negative = text.first == ASCII.minus
        var value: Int64 = 0
        for byte in text.dropFirst(negative ? 1 : 0) {
            let digit = Int64(byte &- ASCII.zero)
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            // Accumulate negatively so that Int64.min fits.
            let (next, overflow2) = shifted.subtractingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = next
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    // MARK: Helpers

    func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= ASCII.zero && byte <= ASCII.nine
    }

    private mutating func skipDigits() {
        while index < bytes.count, bytes[index] >= ASCII.zero, bytes[index] <= ASCII.nine { index += 1 }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case ASCII.space, ASCII.tab, ASCII.lineFeed, ASCII.carriageReturn: index += 1
            default: return
            }
        }
    }

    /// "unexpected X" for the byte at the cursor, or "unexpected end of input".
    func found() -> String {
        index < bytes.count ? "unexpected \(describe(bytes[index]))" : "unexpected end of input"
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count < 2 ? "0" + hex : hex)"
    }

    func failure(_ message: String, at offset: Int? = nil) -> TetherError {
        TetherError(.invalidJSON, "\(message) at byte \(offset ?? index)")
    }
}
