extension JSONValue {
    /// The compact JSON encoding: no whitespace, object keys sorted by their UTF-8 bytes, so equal
    /// values give equal bytes.
    ///
    /// Integers are written exactly; doubles in the shortest form that reads back to the same
    /// double (always with a `.` or an exponent, so they stay doubles); a non-finite double,
    /// which the parser never produces, is written as `null`.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        serialize(into: &output)
        return output
    }

    /// Appends the compact JSON encoding (see ``serialized()``) to `output`.
    public func serialize(into output: inout [UInt8]) {
        switch self {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let value):
            output.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value):
            output.append(contentsOf: String(value).utf8)
        case .double(let value):
            output.append(contentsOf: (value.isFinite ? value.description : "null").utf8)
        case .string(let value):
            Self.serialize(string: value, into: &output)
        case .array(let elements):
            output.append(ASCII.openBracket)
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(ASCII.comma) }
                element.serialize(into: &output)
            }
            output.append(ASCII.closeBracket)
        case .object(let members):
            output.append(ASCII.openBrace)
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (position, key) in keys.enumerated() {
                if position > 0 { output.append(ASCII.comma) }
                Self.serialize(string: key, into: &output)
                output.append(ASCII.colon)
                members[key]!.serialize(into: &output)
            }
            output.append(ASCII.closeBrace)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes a quoted string, escaping `"`, `\` and the control characters U+0000–U+001F.
    private static func serialize(string: String, into output: inout [UInt8]) {
        output.append(ASCII.quote)
        for byte in string.utf8 {
            switch byte {
            case ASCII.quote, ASCII.backslash:
                output.append(ASCII.backslash)
                output.append(byte)
            case ASCII.lineFeed:
                output.append(contentsOf: [ASCII.backslash, ASCII.lowerN])
            case ASCII.carriageReturn:
                output.append(contentsOf: [ASCII.backslash, ASCII.lowerR])
            case ASCII.tab:
                output.append(contentsOf: [ASCII.backslash, ASCII.lowerT])
            case 0x08:
                output.append(contentsOf: [ASCII.backslash, ASCII.lowerB])
            case 0x0C:
                output.append(contentsOf: [ASCII.backslash, ASCII.lowerF])
            case 0x00..<0x20:
                output.append(contentsOf: [ASCII.backslash, ASCII.lowerU, ASCII.zero, ASCII.zero])
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default:
                output.append(byte)
            }
        }
        output.append(ASCII.quote)
    }
}
