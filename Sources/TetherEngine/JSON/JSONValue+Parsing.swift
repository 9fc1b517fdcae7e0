extension JSONValue {
    /// Parses one strict RFC 8259 JSON document from UTF-8 bytes.
    ///
    /// Rejects trailing commas, comments, `NaN`, leading zeros, unescaped control characters,
    /// invalid UTF-8, lone surrogates, duplicate object keys, numbers out of `Double` range and
    /// nesting deeper than 128 arrays or objects. Any top-level value is accepted. Keys are
    /// duplicates when Swift's `String` equality says so, which includes canonically
    /// equivalent spellings (`"é"` precomposed and decomposed).
    ///
    /// - Throws: `TetherError` with code `invalid_json` and a message ending `at byte N`
    ///   (a 0-based offset into `bytes`).
    public init(parsing bytes: some Collection<UInt8>) throws(TetherError) {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Self.parse(buffer)
        }
        let result = contiguous ?? Array(bytes).withUnsafeBufferPointer { buffer in Self.parse(buffer) }
        self = try result.get()
    }

    /// Parses one strict RFC 8259 JSON document from a string (see the byte-based `init(parsing:)`).
    public init(parsing text: String) throws(TetherError) {
        var text = text
        text.makeContiguousUTF8()
        try self.init(parsing: text.utf8)
    }

    private static func parse(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, TetherError> {
        var parser = JSONParser(buffer)
        return Result { () throws(TetherError) -> JSONValue in try parser.parseDocument() }
    }
}
