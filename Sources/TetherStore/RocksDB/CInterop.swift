import CRocksDB

// Small helpers for passing bytes and errors across RocksDB's C API.

extension StoreError {
    /// Throws the RocksDB error in `errptr`, if any, after freeing it with `rocksdb_free`.
    ///
    /// Every `char** errptr` argument ends up here, so no status string leaks.
    static func check(_ errptr: UnsafeMutablePointer<CChar>?) throws(StoreError) {
        guard let errptr else { return }
        let status = String(cString: errptr)
        rocksdb_free(errptr)
        throw StoreError(rocksDBStatus: status)
    }
}

extension Array where Element == UInt8 {
    /// Calls `body` with the bytes as the `(const char*, size_t)` pair RocksDB expects.
    @inline(__always)
    func withCChars<R>(_ body: (UnsafePointer<CChar>?, Int) -> R) -> R {
        withUnsafeBytes { raw in
            body(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
    }

    /// Copies `count` bytes starting at `pointer` (which may be nil when `count` is 0).
    @inline(__always)
    init(copying pointer: UnsafePointer<CChar>?, count: Int) {
        self.init(UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count))
    }
}

extension WriteBatch {
    /// Appends this batch's operations to a RocksDB `rocksdb_writebatch_t`.
    func apply(to raw: OpaquePointer) {
        for operation in operations {
            switch operation {
            case .put(let key, let value):
                key.withCChars { k, kLength in
                    value.withCChars { v, vLength in
                        rocksdb_writebatch_put(raw, k, kLength, v, vLength)
                    }
                }
            case .delete(let key):
                key.withCChars { k, kLength in
                    rocksdb_writebatch_delete(raw, k, kLength)
                }
            case .deleteRange(let from, let to):
                from.withCChars { f, fLength in
                    to.withCChars { t, tLength in
                        rocksdb_writebatch_delete_range(raw, f, fLength, t, tLength)
                    }
                }
            }
        }
    }
}
