import CRocksDB
import Foundation

extension RocksDB {
    /// Writes a consistent, openable copy of the database to `path` (a new directory).
    ///
    /// SST files are hard-linked when `path` is on the same file system, so a checkpoint is
    /// cheap; memtables are flushed first. `path` must not exist yet; its parent is created
    /// when missing.
    public func checkpoint(to path: String) throws(StoreError) {
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw StoreError(code: StoreError.Code.ioError, message: "cannot create \(parent): \(error)")
            }
        }
        try withHandles { handles throws(StoreError) in
            var errptr: UnsafeMutablePointer<CChar>?
            let checkpoint = rocksdb_checkpoint_object_create(handles.db, &errptr)
            try StoreError.check(errptr)
            guard let checkpoint else {
                throw StoreError(code: StoreError.Code.unknown, message: "rocksdb_checkpoint_object_create failed")
            }
            defer { rocksdb_checkpoint_object_destroy(checkpoint) }
            rocksdb_checkpoint_create(checkpoint, path, 0, &errptr)
            try StoreError.check(errptr)
        }
    }

    /// Flushes the memtables to SST files and waits for the flush to finish.
    public func flush() throws(StoreError) {
        try withHandles { handles throws(StoreError) in
            let flushOptions = rocksdb_flushoptions_create()!
            defer { rocksdb_flushoptions_destroy(flushOptions) }
            rocksdb_flushoptions_set_wait(flushOptions, 1)
            var errptr: UnsafeMutablePointer<CChar>?
            rocksdb_flush(handles.db, flushOptions, &errptr)
            try StoreError.check(errptr)
        }
    }

    /// Fsyncs the WAL: makes every earlier unsynced (relaxed) write durable.
    public func syncWAL() throws(StoreError) {
        try withHandles { handles throws(StoreError) in
            var errptr: UnsafeMutablePointer<CChar>?
            rocksdb_flush_wal(handles.db, 1, &errptr)
            try StoreError.check(errptr)
        }
    }

    /// The value of a RocksDB property such as `"rocksdb.estimate-num-keys"`, or nil when the
    /// property is unknown or the database is closed.
    public func property(_ name: String) -> String? {
        try? withHandles { handles throws(StoreError) -> String? in
            guard let value = rocksdb_property_value(handles.db, name) else { return nil }
            defer { rocksdb_free(value) }
            return String(cString: value)
        }
    }

    /// RocksDB's statistics dump, when opened with ``Options/enableStatistics``; else nil.
    public func statisticsReport() -> String? {
        guard options.enableStatistics else { return nil }
        return try? withHandles { handles throws(StoreError) -> String? in
            guard let report = rocksdb_options_statistics_get_string(handles.options) else { return nil }
            defer { rocksdb_free(report) }
            return String(cString: report)
        }
    }
}
