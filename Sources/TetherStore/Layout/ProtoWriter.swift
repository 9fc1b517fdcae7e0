import TetherEngine

/// Writes protocol buffers' wire format directly, for the records written on every step (a
/// run's header, a step): one pass into one array, where SwiftProtobuf builds a message (a
/// heap-allocated storage for large ones), sizes it, then serializes it. Fields go out in
/// field-number order and proto3 defaults are left out, as SwiftProtobuf does, so the bytes are
/// the same (`RecordCodingTests` checks it) and SwiftProtobuf reads them back.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func tag(_ field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    /// A `string` field; nothing when empty.
    mutating func string(_ field: Int, _ value: String) {
        guard !value.isEmpty else { return }
        tag(field, wireType: 2)
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// One element of a `repeated string` field (written even when empty).
    mutating func repeatedString(_ field: Int, _ value: String) {
        tag(field, wireType: 2)
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A `StoredError`'s fields.
    mutating func error(_ error: RunError) {
        string(1, error.code)
        string(2, error.message)
        string(3, error.type)
    }

    /// A `bytes` field; nothing when empty.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        tag(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// An `int64` field; nothing when 0.
    mutating func int64(_ field: Int, _ value: Int64) {
        guard value != 0 else { return }
        tag(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    /// A `uint32` field; nothing when 0.
    mutating func uint32(_ field: Int, _ value: UInt32) {
        guard value != 0 else { return }
        tag(field, wireType: 0)
        varint(UInt64(value))
    }

    /// A `bool` field; nothing when false.
    mutating func bool(_ field: Int, _ value: Bool) {
        guard value else { return }
        tag(field, wireType: 0)
        varint(1)
    }

    /// A message field, present even when all its fields are defaults.
    mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        tag(field, wireType: 2)
        varint(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
    }
}
