import Foundation
import SwiftProtobuf
import TetherEngine
import TetherProtocol

extension CoordinatorStore {
    /// Reads what retention may delete now (blocking: call it off any event loop): at most
    /// `limit` ended runs and `eventLimit` entries of each event index, from `cursor` on.
    public func scanRetention(
        policy: RetentionPolicy, now: Int64, cursor: RetentionCursor, limit: Int = 1_000, eventLimit: Int? = nil
    ) throws -> RetentionScan {
        let eventLimit = eventLimit ?? limit
        var scan = RetentionScan(cursor: cursor)
        let runCutoff = policy.runCutoff(now: now)
        try forEachDue(.endedRun, upTo: runCutoff, after: cursor.endedRuns, limit: limit, more: &scan.hasMore) { key, runId in
            scan.cursor.endedRuns = key
            var due = RetentionScan.DueRun(indexKey: key, runId: runId, functionId: nil, ended: false, stepKeys: [])
            // Reads of what is about to go leave the block cache to the readers that stay.
            if let bytes = try db.get(KeyLayout.run(runId), fillCache: false) {
                let header = RecordCoding.decodeHeader(try Tether_V1_StoredRun(serializedBytes: bytes))
                due.functionId = header.functionId
                due.ended = header.status.isTerminal
                if due.ended {
                    try db.forEach(prefix: KeyLayout.stepPrefix(runId: runId), fillCache: false) { stepKey, _ in
                        due.stepKeys.append(stepKey)
                        return true
                    }
                }
            }
            scan.runs.append(due)
        }
        let eventCutoff = policy.eventCutoff(now: now)
        try forEachDue(.eventReceived, upTo: eventCutoff, after: cursor.events, limit: eventLimit, more: &scan.hasMore) { key, eventId in
            scan.cursor.events = key
            let stored = try db.get(KeyLayout.event(eventId), fillCache: false).map {
                try Tether_V1_StoredEvent(serializedBytes: $0)
            }
            scan.events.append(RetentionScan.DueEvent(indexKey: key, eventId: eventId, stored: stored))
        }
        try forEachDue(.eventIdHold, upTo: now, after: cursor.holds, limit: eventLimit, more: &scan.hasMore) { key, eventId in
            scan.cursor.holds = key
            scan.holds.append((key, eventId))
        }
        return scan
    }

    /// Calls `body` with each entry of the time-ordered index `kind` whose time is at or before
    /// `cutoff`, after `cursor`, at most `limit` of them; sets `more` when there were more.
    private func forEachDue(
        _ kind: KeyKind, upTo cutoff: Int64, after cursor: [UInt8]?, limit: Int, more: inout Bool,
        _ body: ([UInt8], String) throws -> Void
    ) throws {
        guard cutoff >= 0 else { return }
        let bound = KeyLayout.timedBound(kind, after: cutoff)
        var count = 0
        var reachedLimit = false
        try db.forEach(prefix: KeyLayout.prefix(kind), after: cursor, fillCache: false) { key, _ in
            guard key.lexicographicallyPrecedes(bound) else { return false }
            guard count < limit else {
                reachedLimit = true
                return false
            }
            count += 1
            try body(key, KeyLayout.parseTimed(key).id)
            return true
        }
        if reachedLimit { more = true }
    }

    /// The coordinator's answer for an event id it was sent before: the runs that event
    /// started and when it was received, also for an event whose payload retention deleted
    /// (its id deduplicates for the whole idempotency window).
    public func knownEvent(id: String) throws -> KnownEvent? {
        guard let bytes = try db.get(KeyLayout.event(id)) else { return nil }
        let stored = try Tether_V1_StoredEvent(serializedBytes: bytes)
        return KnownEvent(runIds: stored.runIds, receivedAtMilliseconds: stored.receivedAtUnixMs)
    }

    /// Bytes of the files in the store's directory (SST files, write-ahead logs, manifests,
    /// the info log): what the store takes on disk. Nil when the directory cannot be read.
    public func diskBytes() -> Int64? {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: db.path) else { return nil }
        var total: Int64 = 0
        for name in names {
            let attributes = try? manager.attributesOfItem(atPath: db.path + "/" + name)
            if let size = attributes?[.size] as? NSNumber, (attributes?[.type] as? FileAttributeType) == .typeRegular {
                total += size.int64Value
            }
        }
        return total
    }

    /// What RocksDB holds in memory, by kind: `memtables` (writes not yet flushed, including
    /// those being flushed), `block_cache` (data blocks read) and `table_readers` (the indexes
    /// and bloom filters of open SST files). Kinds RocksDB does not report are left out.
    public func memoryUsage() -> [(kind: String, bytes: Int)] {
        [
            ("memtables", "rocksdb.size-all-mem-tables"), ("block_cache", "rocksdb.block-cache-usage"),
            ("table_readers", "rocksdb.estimate-table-readers-mem"),
        ].compactMap { kind, property in db.property(property).flatMap { Int($0) }.map { (kind, $0) } }
    }
}
