import CRocksDB
import Foundation

extension RocksDB {
    /// Writes a consistent, openable copy of the database to `directory` (a new directory),
    /// online: reads and writes go on meanwhile.
    ///
    /// RocksDB's checkpoint (`rocksdb_checkpoint_create`): the memtables are flushed first
    /// (`log_size_for_flush` 0), so the copy holds every write made before the call, then the
    /// live SST files are hard-linked when `directory` is on the same file system (copied
    /// otherwise) and the small files (`MANIFEST`, `OPTIONS`, `CURRENT`, the WAL tail) copied.
    /// SST files never change once written, so a hard-linked one is as good as a copy, but it
    /// shares the disk: a backup that must survive the disk goes elsewhere too. `directory`
    /// must not exist yet (code `invalid_argument`); its parent is created when missing.
    public func createCheckpoint(at directory: String) throws(StoreError) {
        let parent = (directory as NSString).deletingLastPathComponent
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
            rocksdb_checkpoint_create(checkpoint, directory, 0, &errptr)
            try StoreError.check(errptr)
        }
    }

    /// The earlier name of ``createCheckpoint(at:)``.
    @available(*, deprecated, renamed: "createCheckpoint(at:)")
    public func checkpoint(to path: String) throws(StoreError) {
        try createCheckpoint(at: path)
    }

    /// Reads every entry with checksum verification on and returns how many keys there are.
    ///
    /// Every data block of every SST file is read and its checksum checked (without filling
    /// the block cache), so a flipped bit in stored data throws code `corruption`. Filter
    /// blocks, which an iteration does not read, are not checked (a backup's SHA-256s cover
    /// them). Takes as long as reading the whole database: call it on a copy (a backup being
    /// verified), not on a busy coordinator.
    public func verifyChecksums() throws(StoreError) -> Int {
        try withHandles { handles throws(StoreError) in
            let readOptions = rocksdb_readoptions_create()!
            defer { rocksdb_readoptions_destroy(readOptions) }
            rocksdb_readoptions_set_verify_checksums(readOptions, 1)
            rocksdb_readoptions_set_fill_cache(readOptions, 0)
            let iterator = rocksdb_create_iterator(handles.db, readOptions)!
            defer { rocksdb_iter_destroy(iterator) }
            var count = 0
            rocksdb_iter_seek_to_first(iterator)
            while rocksdb_iter_valid(iterator) != 0 {
                count += 1
                rocksdb_iter_next(iterator)
            }
            var errptr: UnsafeMutablePointer<CChar>?
            rocksdb_iter_get_error(iterator, &errptr)
            try StoreError.check(errptr)
            return count
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
