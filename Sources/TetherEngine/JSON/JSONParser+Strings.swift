extension JSONParser {
    /// Parses a string starting at the opening quote: validates UTF-8, decodes escapes
    /// (`\uXXXX` with surrogate pairs) and rejects raw control characters.
    mutating func parseString() throws(TetherError) -> String {
        let open = index
        index += 1
        var runStart = index
        // Only allocated when the string has escapes; otherwise the bytes are decoded in place.
        var unescaped: [UInt8]? = nil
        while true {
            guard index < bytes.count else { throw failure("unterminated string", at: open) }
            let byte = bytes[index]
            if byte == ASCII.quote {
                let run = UnsafeBufferPointer(rebasing: bytes[runStart..<index])
                index += 1
                guard var result = unescaped else { return String(decoding: run, as: UTF8.self) }
                result.append(contentsOf: run)
                return String(decoding: result, as: UTF8.self)
            } else if byte == ASCII.backslash {
                // Appended in place: copying the buffer out and back at each escape made a long
                // escaped string quadratic (20 s for 4 MiB of them).
                if unescaped == nil { unescaped = [] }
                unescaped!.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                try appendEscape(to: &unescaped!)
                runStart = index
            } else if byte < 0x20 {
                throw failure("unescaped control character \(describe(byte)) in a string")
            } else if byte < 0x80 {
                index += 1
            } else {
                try skipUTF8Sequence()
            }
        }
    }

    /// Decodes the escape at the cursor (a backslash) and appends its UTF-8 bytes.
    private mutating func appendEscape(to result: inout [UInt8]) throws(TetherError) {
        let start = index
        index += 1
        guard let letter = peek() else { throw failure("unterminated string") }
        index += 1
        switch letter {
        case ASCII.quote, ASCII.backslash, ASCII.slash: result.append(letter)
        case ASCII.lowerB: result.append(0x08)
        case ASCII.lowerF: result.append(0x0C)
        case ASCII.lowerN: result.append(ASCII.lineFeed)
        case ASCII.lowerR: result.append(ASCII.carriageReturn)
        case ASCII.lowerT: result.append(ASCII.tab)
        case ASCII.lowerU:
            var scalar = try readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                let lowStart = index
                guard peek() == ASCII.backslash, index + 1 < bytes.count, bytes[index + 1] == ASCII.lowerU else {
                    throw failure("unpaired surrogate in \\u escape", at: start)
                }
                index += 2
                let low = try readHex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw failure("expected a low surrogate \\uDC00-\\uDFFF", at: lowStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw failure("unpaired surrogate in \\u escape", at: start)
            }
            // Not a surrogate, so always a valid scalar.
            result.append(contentsOf: Unicode.Scalar(scalar)!.utf8)
        default:
            throw failure("invalid escape \\\(Character(Unicode.Scalar(letter)))", at: start)
        }
    }

    private mutating func readHex4() throws(TetherError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw failure("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case ASCII.lowerA...ASCII.lowerF: digit = byte - ASCII.lowerA + 10
            case ASCII.upperA...ASCII.upperF: digit = byte - ASCII.upperA + 10
            default: throw failure("\(found()), expected a hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Moves the cursor over one well-formed multi-byte UTF-8 sequence (no overlongs, no surrogates).
    private mutating func skipUTF8Sequence() throws(TetherError) {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        case 0xF1...0xF3: length = 4
        default: throw failure("invalid UTF-8")
        }
        guard index + length <= bytes.count else { throw failure("invalid UTF-8") }
        guard secondRange.contains(bytes[index + 1]) else { throw failure("invalid UTF-8") }
        for offset in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[index + offset]) {
            throw failure("invalid UTF-8")
        }
        index += length
    }
}
