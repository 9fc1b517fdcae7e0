import CRocksDB

extension RocksDB {
    /// Returns the entries whose key starts with `prefix`, in byte order (or reverse).
    ///
    /// - Parameters:
    ///   - prefix: Only keys starting with these bytes; empty means every key.
    ///   - after: An exclusive cursor: forward, only keys strictly after it; with `reverse`,
    ///     only keys strictly before it. Usually the last key of the previous page.
    ///   - reverse: Descending byte order instead of ascending.
    ///   - limit: Most entries returned.
    public func scan(
        prefix: [UInt8],
        after: [UInt8]? = nil,
        reverse: Bool = false,
        limit: Int = .max
    ) throws(StoreError) -> [(key: [UInt8], value: [UInt8])] {
        var entries: [(key: [UInt8], value: [UInt8])] = []
        guard limit > 0 else {
            try withHandles { _ throws(StoreError) in }  // still throws `closed`
            return entries
        }
        try iterate(prefix: prefix, after: after, reverse: reverse, wrap: { $0 }) { key, value throws(StoreError) in
            entries.append((key: [UInt8](key), value: [UInt8](value)))
            return entries.count < limit
        }
        return entries
    }

    /// Calls `body` with each entry whose key starts with `prefix`, without collecting them.
    ///
    /// For scans too large to hold in memory (rebuilding indexes at startup). `body` returns
    /// false to stop early; an error it throws stops the scan and is rethrown. RocksDB errors
    /// are thrown as ``StoreError``. The database cannot finish ``close()`` while `body` runs,
    /// so `body` must not call it.
    ///
    /// - Parameters:
    ///   - prefix: Only keys starting with these bytes; empty means every key.
    ///   - after: An exclusive cursor, as in ``scan(prefix:after:reverse:limit:)``.
    ///   - reverse: Descending byte order instead of ascending.
    ///   - fillCache: False leaves the block cache alone (see ``get(_:fillCache:)``).
    public func forEach(
        prefix: [UInt8],
        after: [UInt8]? = nil,
        reverse: Bool = false,
        fillCache: Bool = true,
        _ body: ([UInt8], [UInt8]) throws -> Bool
    ) throws {
        try iterate(prefix: prefix, after: after, reverse: reverse, fillCache: fillCache, wrap: { $0 as any Error }) { key, value in
            try body([UInt8](key), [UInt8](value))
        }
    }

    /// Walks a prefix with a RocksDB iterator, handing `visit` borrowed key and value bytes.
    ///
    /// `wrap` turns a ``StoreError`` into the error type of `visit`, so one implementation
    /// serves the typed and the untyped API.
    private func iterate<E: Error>(
        prefix: [UInt8],
        after: [UInt8]?,
        reverse: Bool,
        fillCache: Bool = true,
        wrap: (StoreError) -> E,
        _ visit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> Bool
    ) throws(E) {
        let handles: RocksDBHandles
        do {
            handles = try enter()
        } catch {
            throw wrap(error)
        }
        defer { leave() }

        let readOptions = rocksdb_readoptions_create()!
        defer { rocksdb_readoptions_destroy(readOptions) }
        if !fillCache { rocksdb_readoptions_set_fill_cache(readOptions, 0) }
        // RocksDB keeps pointers to the bounds, so they live in storage we own until the end.
        let upperBound = Self.successor(of: prefix)
        let bound = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(reverse ? prefix.count : upperBound?.count ?? 0, 1),
            alignment: 1
        )
        defer { bound.deallocate() }
        if reverse {
            if !prefix.isEmpty {
                bound.copyBytes(from: prefix)
                let start = bound.baseAddress!.assumingMemoryBound(to: CChar.self)
                rocksdb_readoptions_set_iterate_lower_bound(readOptions, start, prefix.count)
            }
        } else if let upperBound {
            bound.copyBytes(from: upperBound)
            let start = bound.baseAddress!.assumingMemoryBound(to: CChar.self)
            rocksdb_readoptions_set_iterate_upper_bound(readOptions, start, upperBound.count)
        }

        let iterator = rocksdb_create_iterator(handles.db, readOptions)!
        defer { rocksdb_iter_destroy(iterator) }
        Self.position(iterator, prefix: prefix, after: after, upperBound: upperBound, reverse: reverse)

        while rocksdb_iter_valid(iterator) != 0 {
            let key = Self.currentKey(iterator)
            guard key.starts(with: prefix) else { break }
            var valueLength = 0
            let value = rocksdb_iter_value(iterator, &valueLength)
            let valueBytes = UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : valueLength)
            guard try visit(key, valueBytes) else { return }
            if reverse {
                rocksdb_iter_prev(iterator)
            } else {
                rocksdb_iter_next(iterator)
            }
        }
        var errptr: UnsafeMutablePointer<CChar>?
        rocksdb_iter_get_error(iterator, &errptr)
        do {
            try StoreError.check(errptr)
        } catch {
            throw wrap(error)
        }
    }

    /// Moves `iterator` to the first entry of the scan, skipping the exclusive cursor.
    private static func position(
        _ iterator: OpaquePointer,
        prefix: [UInt8],
        after: [UInt8]?,
        upperBound: [UInt8]?,
        reverse: Bool
    ) {
        // The key to land on (or just past); it is excluded from the scan when it is `after`
        // or the upper bound (which never starts with the prefix).
        let target: [UInt8]?
        if reverse {
            if let after, upperBound.map({ after.lexicographicallyPrecedes($0) }) ?? true {
                target = after
            } else {
                target = upperBound
            }
            if let target {
                target.withCChars { rocksdb_iter_seek_for_prev(iterator, $0, $1) }
            } else {
                // The prefix is empty or all 0xFF bytes: nothing sorts after its keys.
                rocksdb_iter_seek_to_last(iterator)
            }
        } else {
            if let after, prefix.lexicographicallyPrecedes(after) {
                target = after
            } else {
                target = prefix
            }
            target!.withCChars { rocksdb_iter_seek(iterator, $0, $1) }
        }
        if let target, rocksdb_iter_valid(iterator) != 0, currentKey(iterator).elementsEqual(target),
            target == after || target == upperBound
        {
            if reverse {
                rocksdb_iter_prev(iterator)
            } else {
                rocksdb_iter_next(iterator)
            }
        }
    }

    private static func currentKey(_ iterator: OpaquePointer) -> UnsafeRawBufferPointer {
        var length = 0
        let key = rocksdb_iter_key(iterator, &length)
        return UnsafeRawBufferPointer(start: key, count: key == nil ? 0 : length)
    }

    /// The smallest key greater than every key starting with `prefix`, or nil if none exists
    /// (`prefix` is empty or all 0xFF).
    static func successor(of prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}
