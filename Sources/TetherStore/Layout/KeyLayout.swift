/// The versioned RocksDB key layout of the coordinator.
///
/// Every key starts with one byte naming its kind. Kinds are never reused or renumbered. A
/// new kind that older data simply lacks keeps the layout version; a change to the meaning
/// of an existing kind bumps ``KeyLayout/schemaVersion``. Ids are ULIDs or user ids
/// (UTF-8); numbers are big-endian so byte order is numeric order.
public enum KeyKind: UInt8, Sendable, CaseIterable {
    /// `meta` + name → value (e.g. the schema version).
    case meta = 0x01
    /// `event` + event id → `StoredEvent`. Since layout 2, a `StoredEvent` without its `event`
    /// is a pruned event: retention deleted its payload and keeps its id (with the runs it
    /// started) for deduplication until the idempotency window has passed.
    case event = 0x10
    /// `eventReceived` + time (u64 BE ms) + event id → empty: events by the time they became
    /// candidates for retention (received, or last found still needed). Layout 2.
    case eventReceived = 0x11
    /// `eventIdHold` + time (u64 BE ms) + event id → empty: pruned events, by the time their id
    /// stops deduplicating and the record goes. Layout 2.
    case eventIdHold = 0x12
    /// `run` + run id → `StoredRun` (header, without steps).
    case run = 0x20
    /// `step` + run id + 0x00 + index (u32 BE) → `StoredStep`.
    case step = 0x21
    /// `activeRun` + run id → empty: the runs that have not ended, rebuilt into memory at start.
    case activeRun = 0x22
    /// `functionRun` + function id + 0x00 + run id → empty: runs of a function, in time order.
    case functionRun = 0x23
    /// Retired: `lease` + request id → `StoredLease`, written by earlier builds of this layout;
    /// read once at start and rewritten as `workLease`.
    case lease = 0x24
    /// `workLease` + run id + 0x00 + step id (empty: the run's continuation) → `StoredLease`:
    /// a step request out on a worker.
    case workLease = 0x25
    /// `endedRun` + time ended (u64 BE ms) + run id → empty: ended runs by the time they ended,
    /// for retention. Layout 2.
    case endedRun = 0x26
    /// `function` + function id → `StoredFunction`.
    case function = 0x30
    /// `cronTick` + trigger key (function id, schedule, time zone) → u64 BE: the last tick fired.
    case cronTick = 0x31
    /// `idempotencyKey` + function id NUL key value → u64 BE: when its run started (24 h window).
    case idempotencyKey = 0x32
    /// `flowState` + `t`/`r` NUL function id NUL key value → u64 BE: a throttle's or rate
    /// limit's theoretical arrival time (GCRA); deleted once it passes.
    case flowState = 0x33
    /// `debounce` + function id NUL key value → `StoredDebounce`.
    case debounce = 0x34
    /// `batch` + function id NUL key value → `StoredBatch`.
    case batch = 0x35
}

/// Builds and parses the coordinator's keys.
public enum KeyLayout {
    /// Version of this layout, stored under `meta/schema`. Version 2 added the retention
    /// indexes (`eventReceived`, `eventIdHold`, `endedRun`) and pruned events; a version-1 store
    /// is migrated when it is opened (``CoordinatorStore/migrate(_:from:directory:)``).
    public static let schemaVersion = 2
    /// The oldest layout this release can migrate from.
    public static let oldestMigratableVersion = 1
    static let schemaKey = meta("schema")
    /// Cluster mode: the sequence of the last journal entry applied to this store (u64 BE),
    /// written in the same RocksDB write as the entry itself, so a restart replays exactly what
    /// the store lacks. Local to a node, like the schema version: never journalled.
    public static let journalSequenceKey = meta("journal-seq")

    static func key(_ kind: KeyKind, _ id: String) -> [UInt8] {
        var key: [UInt8] = [kind.rawValue]
        key.append(contentsOf: id.utf8)
        return key
    }

    static func prefix(_ kind: KeyKind) -> [UInt8] { [kind.rawValue] }

    static func meta(_ name: String) -> [UInt8] { key(.meta, name) }
    static func event(_ id: String) -> [UInt8] { key(.event, id) }
    static func run(_ id: String) -> [UInt8] { key(.run, id) }
    static func activeRun(_ id: String) -> [UInt8] { key(.activeRun, id) }
    static func function(_ id: String) -> [UInt8] { key(.function, id) }
    static func cronTick(_ key: String) -> [UInt8] { Self.key(.cronTick, key) }
    static func idempotencyKey(_ key: String) -> [UInt8] { Self.key(.idempotencyKey, key) }
    static func flowState(_ key: String) -> [UInt8] { Self.key(.flowState, key) }
    static func debounce(_ key: String) -> [UInt8] { Self.key(.debounce, key) }
    static func batch(_ key: String) -> [UInt8] { Self.key(.batch, key) }
    static func lease(_ requestId: String) -> [UInt8] { key(.lease, requestId) }

    /// `kind` + a time (u64 BE ms, clamped at 0) + `id`: a time-ordered index entry.
    static func timed(_ kind: KeyKind, _ time: Int64, _ id: String) -> [UInt8] {
        var key: [UInt8] = [kind.rawValue]
        let value = UInt64(max(time, 0))
        for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        key.append(contentsOf: id.utf8)
        return key
    }

    /// The time and id of a ``timed(_:_:_:)`` key (time 0 and the rest when it is too short).
    static func parseTimed(_ key: [UInt8]) -> (time: Int64, id: String) {
        guard key.count >= 9 else { return (0, id(of: key, droppingPrefix: 1)) }
        let time = key[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (Int64(clamping: time), id(of: key, droppingPrefix: 9))
    }

    /// The first key of `kind` whose time is after `time` (an exclusive bound for scans up to
    /// `time`).
    static func timedBound(_ kind: KeyKind, after time: Int64) -> [UInt8] {
        timed(kind, time == Int64.max ? time : time + 1, "")
    }

    static func workLease(runId: String, stepId: String) -> [UInt8] {
        var key = Self.key(.workLease, runId)
        key.append(0)
        key.append(contentsOf: stepId.utf8)
        return key
    }

    static func stepPrefix(runId: String) -> [UInt8] {
        var key = Self.key(.step, runId)
        key.append(0)
        return key
    }

    static func step(runId: String, index: Int) -> [UInt8] {
        var key = stepPrefix(runId: runId)
        let value = UInt32(clamping: index)
        key.append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
        return key
    }

    static func functionRunPrefix(functionId: String) -> [UInt8] {
        var key = Self.key(.functionRun, functionId)
        key.append(0)
        return key
    }

    static func functionRun(functionId: String, runId: String) -> [UInt8] {
        functionRunPrefix(functionId: functionId) + Array(runId.utf8)
    }

    /// The id part of a key of `kind` (everything after the kind byte, up to `terminator`).
    static func id(of key: [UInt8], droppingPrefix count: Int) -> String {
        String(decoding: key.dropFirst(count), as: UTF8.self)
    }
}
