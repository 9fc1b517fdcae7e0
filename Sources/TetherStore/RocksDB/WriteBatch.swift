/// An ordered list of puts and deletes that commit atomically: all of them or none.
///
/// A pure Swift value, so it can be built on any thread, passed across isolation domains
/// and merged with other batches (``GroupCommitWriter`` merges many into one RocksDB write).
/// Later operations win over earlier ones on the same key.
///
/// ```swift
/// var batch = WriteBatch()
/// batch.put(Array("run/1".utf8), Array("queued".utf8))
/// batch.delete(Array("queue/1".utf8))
/// try db.write(batch, sync: true)
/// ```
public struct WriteBatch: Sendable, Equatable {
    /// One operation of a batch.
    public enum Operation: Sendable, Equatable {
        /// Sets `key` to `value`.
        case put(key: [UInt8], value: [UInt8])
        /// Removes `key` (a no-op if it is absent).
        case delete(key: [UInt8])
        /// Removes every key in `from ..< to` (byte order).
        case deleteRange(from: [UInt8], to: [UInt8])
    }

    /// The operations, in the order they were added (and will be applied).
    public private(set) var operations: [Operation] = []

    /// The number of key and value bytes in the batch; RocksDB adds a few bytes per operation.
    public private(set) var byteCount: Int = 0

    /// Creates an empty batch.
    public init() {}

    /// Whether the batch has no operations.
    public var isEmpty: Bool { operations.isEmpty }

    /// The number of operations in the batch.
    public var count: Int { operations.count }

    /// Adds a put of `value` at `key`.
    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        operations.append(.put(key: key, value: value))
        byteCount += key.count + value.count
    }

    /// Adds a delete of `key`.
    public mutating func delete(_ key: [UInt8]) {
        operations.append(.delete(key: key))
        byteCount += key.count
    }

    /// Adds a delete of every key `k` with `from <= k < to` in byte order.
    ///
    /// Range deletes are cheap to write but make later reads of that range slower until
    /// compaction; prefer point deletes for a handful of keys.
    public mutating func deleteRange(from: [UInt8], to: [UInt8]) {
        operations.append(.deleteRange(from: from, to: to))
        byteCount += from.count + to.count
    }

    /// Appends every operation of `other`, after the operations already in this batch.
    public mutating func append(contentsOf other: WriteBatch) {
        operations.append(contentsOf: other.operations)
        byteCount += other.byteCount
    }

    /// Removes every operation, keeping the storage for reuse.
    public mutating func removeAll() {
        operations.removeAll(keepingCapacity: true)
        byteCount = 0
    }
}
