import CRocksDB

/// Cluster mode: applying journal entries to a node's own database, and reading back how far
/// it got.
extension RocksDB {
    /// The smallest serialized write batch RocksDB accepts: its 12-byte header (sequence and count).
    static let writeBatchHeaderBytes = 12

    /// Applies one journal entry, `batch` (a serialized RocksDB write batch, as
    /// ``CommitJournal/append(_:)`` received it), and records `sequence` as applied, in one
    /// write: a crash never leaves the entry applied without its sequence, or the reverse.
    public func applyJournalEntry(sequence: UInt64, batch: [UInt8], sync: Bool) throws(StoreError) {
        guard batch.count >= Self.writeBatchHeaderBytes else {
            throw StoreError(
                code: StoreError.Code.corruption,
                message: "journal entry \(sequence) holds \(batch.count) bytes, fewer than a write batch's header")
        }
        try withWritableHandles(byteCount: batch.count) { handles throws(StoreError) in
            let raw = batch.withCChars { data, length in rocksdb_writebatch_create_from(data, length) }!
            defer { rocksdb_writebatch_destroy(raw) }
            Self.recordJournalSequence(sequence, in: raw)
            var errptr: UnsafeMutablePointer<CChar>?
            rocksdb_write(handles.db, handles.writeOptions(sync: sync), raw, &errptr)
            try StoreError.check(errptr)
        }
    }

    /// The sequence of the last journal entry applied to this database; 0 when none was.
    public func journalSequence() throws(StoreError) -> UInt64 {
        guard let bytes = try get(KeyLayout.journalSequenceKey) else { return 0 }
        guard bytes.count == 8 else {
            throw StoreError(
                code: StoreError.Code.corruption, message: "the applied journal sequence holds \(bytes.count) bytes, not 8")
        }
        return bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// Adds the put of `sequence` as the last applied journal entry to a raw write batch.
    static func recordJournalSequence(_ sequence: UInt64, in raw: OpaquePointer) {
        let value = (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (56 - 8 * $0)) }
        KeyLayout.journalSequenceKey.withCChars { k, kLength in
            value.withCChars { v, vLength in
                rocksdb_writebatch_put(raw, k, kLength, v, vLength)
            }
        }
    }

    /// The serialized form of a raw write batch: what the journal stores.
    static func serializedBytes(of raw: OpaquePointer) -> [UInt8] {
        var length = 0
        let data = rocksdb_writebatch_data(raw, &length)
        return [UInt8](copying: data, count: length)
    }
}
