import CRocksDB

/// The C handles of one open database, owned by ``RocksDB``.
///
/// `@unchecked Sendable` because RocksDB's handles are thread-safe; ``RocksDB`` makes sure no
/// call uses them after ``destroy()``.
struct RocksDBHandles: @unchecked Sendable {
    let db: OpaquePointer
    /// Kept alive while the database is open: statistics are read through it.
    let options: OpaquePointer
    let readOptions: OpaquePointer
    /// Reads that leave the block cache alone (``RocksDB/get(_:fillCache:)`` with false).
    let uncachedReadOptions: OpaquePointer
    let syncWriteOptions: OpaquePointer
    let asyncWriteOptions: OpaquePointer

    /// Opens the database in `path` (whose directory must exist when it is to be created).
    static func open(path: String, options: RocksDB.Options) throws(StoreError) -> RocksDBHandles {
        let cOptions = options.makeCOptions()
        var errptr: UnsafeMutablePointer<CChar>?
        // Read-only: a WAL left by the writer is replayed into memory, not refused.
        let db =
            options.readOnly
            ? rocksdb_open_for_read_only(cOptions, path, 0, &errptr) : rocksdb_open(cOptions, path, &errptr)
        do {
            try StoreError.check(errptr)
        } catch {
            rocksdb_options_destroy(cOptions)
            throw error
        }
        guard let db else {
            rocksdb_options_destroy(cOptions)
            throw StoreError(code: StoreError.Code.unknown, message: "rocksdb_open returned no handle for \(path)")
        }
        return RocksDBHandles(db: db, options: cOptions)
    }

    private init(db: OpaquePointer, options: OpaquePointer) {
        self.db = db
        self.options = options
        self.readOptions = rocksdb_readoptions_create()
        self.uncachedReadOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_fill_cache(uncachedReadOptions, 0)
        self.syncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWriteOptions, 1)
        self.asyncWriteOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(asyncWriteOptions, 0)
    }

    func writeOptions(sync: Bool) -> OpaquePointer {
        sync ? syncWriteOptions : asyncWriteOptions
    }

    /// Closes the database (waiting for its background work) and frees every handle.
    func destroy() {
        rocksdb_close(db)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_readoptions_destroy(uncachedReadOptions)
        rocksdb_writeoptions_destroy(syncWriteOptions)
        rocksdb_writeoptions_destroy(asyncWriteOptions)
        rocksdb_options_destroy(options)
    }
}
