import CRocksDB
import Foundation

/// An open RocksDB database: a sorted map of byte-string keys to byte-string values.
///
/// A thin, thread-safe wrapper of RocksDB's C API. Every call blocks the calling thread on
/// RocksDB (and, for a `sync` write, on an fsync), so callers choose the thread: never a NIO
/// event loop or the cooperative pool directly. Concurrent writers should go through a
/// ``GroupCommitWriter``, which shares one fsync among many changes.
///
/// ``close()`` waits for calls in progress, then releases the directory lock; a call made
/// after it throws ``StoreError`` with code `closed` rather than crashing.
public final class RocksDB: Sendable {
    /// The data directory.
    public let path: String
    /// The options the database was opened with.
    public let options: Options

    /// The handles and the calls using them; see RocksDB+Lifecycle.swift.
    let lifecycle: ConditionLock<Lifecycle>

    /// Refuses writes while the disk is nearly full; see ``Options/minFreeDiskBytes``.
    let diskSpace: DiskSpaceGuard

    /// Opens (and with ``Options/createIfMissing``, creates) the database in `path`.
    ///
    /// Missing parent directories are created. Throws code `busy` when another process
    /// (or another open ``RocksDB`` in this one) holds the directory. With
    /// ``Options/readOnly``, nothing is created and every write throws.
    public init(path: String, options: Options = .init()) throws(StoreError) {
        self.path = path
        self.options = options
        if options.createIfMissing && !options.readOnly {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw StoreError(code: StoreError.Code.ioError, message: "cannot create \(path): \(error)")
            }
        }
        self.diskSpace = DiskSpaceGuard(path: path, minFreeBytes: options.minFreeDiskBytes)
        self.lifecycle = ConditionLock(Lifecycle(handles: try RocksDBHandles.open(path: path, options: options)))
    }

    deinit {
        close()
    }

    // MARK: Point reads and writes

    /// Returns the value stored at `key`, or nil when there is none.
    ///
    /// With `fillCache` false the blocks read are not kept in the block cache: for one-off reads
    /// of data about to be deleted (retention), which would only evict what readers use.
    public func get(_ key: [UInt8], fillCache: Bool = true) throws(StoreError) -> [UInt8]? {
        try withHandles { handles throws(StoreError) in
            var errptr: UnsafeMutablePointer<CChar>?
            let options = fillCache ? handles.readOptions : handles.uncachedReadOptions
            let slice = key.withCChars { k, kLength in
                rocksdb_get_pinned(handles.db, options, k, kLength, &errptr)
            }
            try StoreError.check(errptr)
            guard let slice else { return nil }
            defer { rocksdb_pinnableslice_destroy(slice) }
            var length = 0
            let value = rocksdb_pinnableslice_value(slice, &length)
            return [UInt8](copying: value, count: length)
        }
    }

    // Every write goes through `withWritableHandles` (RocksDB+Lifecycle.swift): it is refused
    // with `no_space` while the disk is nearly full, and after a failed write until `reopen()`.

    /// Stores `value` at `key`; with `sync`, fsyncs the WAL before returning.
    public func put(_ key: [UInt8], _ value: [UInt8], sync: Bool) throws(StoreError) {
        try withWritableHandles(byteCount: key.count + value.count) { handles throws(StoreError) in
            var errptr: UnsafeMutablePointer<CChar>?
            key.withCChars { k, kLength in
                value.withCChars { v, vLength in
                    rocksdb_put(handles.db, handles.writeOptions(sync: sync), k, kLength, v, vLength, &errptr)
                }
            }
            try StoreError.check(errptr)
        }
    }

    /// Removes `key` (a no-op when absent); with `sync`, fsyncs the WAL before returning.
    public func delete(_ key: [UInt8], sync: Bool) throws(StoreError) {
        try withWritableHandles(byteCount: key.count) { handles throws(StoreError) in
            var errptr: UnsafeMutablePointer<CChar>?
            key.withCChars { k, kLength in
                rocksdb_delete(handles.db, handles.writeOptions(sync: sync), k, kLength, &errptr)
            }
            try StoreError.check(errptr)
        }
    }

    /// Applies every operation of `batch` atomically; with `sync`, fsyncs the WAL first.
    ///
    /// An empty batch writes nothing (but still throws `closed` on a closed database).
    public func write(_ batch: WriteBatch, sync: Bool) throws(StoreError) {
        guard !batch.isEmpty else {
            return try withHandles { _ throws(StoreError) in }
        }
        try withWritableHandles(byteCount: batch.byteCount) { handles throws(StoreError) in
            let raw = rocksdb_writebatch_create()!
            defer { rocksdb_writebatch_destroy(raw) }
            batch.apply(to: raw)
            try Self.write(raw, handles: handles, sync: sync)
        }
    }

    /// Writes an already built `rocksdb_writebatch_t` of about `byteCount` key and value
    /// bytes (the ``GroupCommitWriter``'s path).
    func write(raw: OpaquePointer, byteCount: Int, sync: Bool) throws(StoreError) {
        try withWritableHandles(byteCount: byteCount) { handles throws(StoreError) in
            try Self.write(raw, handles: handles, sync: sync)
        }
    }

    private static func write(_ raw: OpaquePointer, handles: RocksDBHandles, sync: Bool) throws(StoreError) {
        var errptr: UnsafeMutablePointer<CChar>?
        rocksdb_write(handles.db, handles.writeOptions(sync: sync), raw, &errptr)
        try StoreError.check(errptr)
    }
}
