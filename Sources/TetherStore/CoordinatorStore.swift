import Foundation
import SwiftProtobuf
import TetherEngine
import TetherProtocol

/// The coordinator's durable state in RocksDB: events, runs, steps and functions.
///
/// Writes go through the ``GroupCommitWriter`` (one fsync for many changes in `strict`
/// durability); reads go straight to RocksDB. Every method blocks its thread: call it from
/// a thread pool, never from an event loop.
public final class CoordinatorStore: Sendable {
    public let db: RocksDB
    public let writer: GroupCommitWriter

    /// Opens (creating if needed) the store in `directory`, checking the key layout version.
    ///
    /// With a `journal` (cluster mode) every commit is appended to it before it is written here;
    /// see ``GroupCommitWriter``.
    public init(
        directory: String, durability: Durability, options: RocksDB.Options = .init(), journal: (any CommitJournal)? = nil
    ) throws(StoreError) {
        let db = try RocksDB(path: directory, options: options)
        do {
            if let stored = try db.get(KeyLayout.schemaKey) {
                let version = Int(String(decoding: stored, as: UTF8.self)) ?? -1
                if version != KeyLayout.schemaVersion {
                    try Self.migrate(db, from: version, directory: directory)
                }
            } else {
                try db.put(KeyLayout.schemaKey, Array(String(KeyLayout.schemaVersion).utf8), sync: true)
            }
        } catch let error as StoreError {
            db.close()
            throw error
        } catch {
            db.close()
            throw StoreError(code: StoreError.Code.unknown, message: "\(error)")
        }
        self.db = db
        self.writer = GroupCommitWriter(db: db, durability: durability, journal: journal)
    }

    /// Finishes pending writes and closes the database.
    public func close() {
        writer.shutdown()
        db.close()
    }

    // MARK: Writing

    /// The write batch that makes `mutations` durable.
    public static func batch(for mutations: [StoreMutation]) -> WriteBatch {
        // Within one write the last operation on a key wins, so of several on the same lease (the
        // result's delete, then the run's next request) only the last is written: the others
        // would only add entries to the memtable. `lastLeaseWrite` is empty unless that happens.
        // The same holds for a run's header: a result's commit writes it, and so does the run's
        // next request (its continuation lease is part of the header), in one write.
        var lastLeaseWrite: [LeaseKey: Int] = [:]
        var lastHeaderWrite: [String: Int] = [:]
        var leaseWrites = 0
        var headerWrites = 0
        for mutation in mutations {
            switch mutation {
            case .putLease, .deleteLease: leaseWrites += 1
            case .putRun: headerWrites += 1
            default: break
            }
        }
        if leaseWrites > 1 || headerWrites > 1 {
            for (index, mutation) in mutations.enumerated() {
                switch mutation {
                case .putLease(let lease): lastLeaseWrite[LeaseKey(runId: lease.runId, stepId: lease.stepId)] = index
                case .deleteLease(let runId, let stepId): lastLeaseWrite[LeaseKey(runId: runId, stepId: stepId)] = index
                case .putRun(let run, _, _): lastHeaderWrite[run.id] = index
                default: break
                }
            }
        }
        var batch = WriteBatch()
        for (index, mutation) in mutations.enumerated() {
            switch mutation {
            case .putEvent(let event, let runIds, let receivedAt):
                var stored = Tether_V1_StoredEvent()
                stored.event = RecordCoding.encode(event)
                stored.runIds = runIds
                stored.receivedAtUnixMs = receivedAt
                stored.traceParent = event.traceParent
                batch.put(KeyLayout.event(event.id), serialize(stored))
                batch.put(KeyLayout.timed(.eventReceived, receivedAt, event.id), [])
            case .putRun(let run, let stepIndices, let created):
                if lastHeaderWrite.isEmpty || lastHeaderWrite[run.id] == index {
                    batch.put(KeyLayout.run(run.id), RecordCoding.headerBytes(run))
                    if run.status.isTerminal {
                        batch.put(KeyLayout.timed(.endedRun, Self.endedAt(run), run.id), [])
                    }
                }
                for index in stepIndices where run.steps.indices.contains(index) {
                    batch.put(KeyLayout.step(runId: run.id, index: index), RecordCoding.stepBytes(run.steps[index]))
                }
                if created {
                    batch.put(KeyLayout.functionRun(functionId: run.functionId, runId: run.id), [])
                    if !run.status.isTerminal { batch.put(KeyLayout.activeRun(run.id), []) }
                } else if run.status.isTerminal {
                    batch.delete(KeyLayout.activeRun(run.id))
                }
            case .putFunction(let function, let updatedAt):
                batch.put(KeyLayout.function(function.id), serialize(RecordCoding.encode(function, updatedAt: updatedAt)))
            case .putCronTick(let key, let firedAt):
                batch.put(KeyLayout.cronTick(key), bigEndian(firedAt))
            case .putIdempotencyKey(let key, let at):
                batch.put(KeyLayout.idempotencyKey(key), bigEndian(at))
            case .deleteIdempotencyKey(let key):
                batch.delete(KeyLayout.idempotencyKey(key))
            case .putFlowState(let key, let value):
                batch.put(KeyLayout.flowState(key), bigEndian(value))
            case .deleteFlowState(let key):
                batch.delete(KeyLayout.flowState(key))
            case .putDebounce(let record):
                var stored = Tether_V1_StoredDebounce()
                stored.functionID = record.functionId
                stored.event = RecordCoding.encode(record.event)
                stored.firstAtUnixMs = record.firstAtMilliseconds
                stored.dueAtUnixMs = record.dueAtMilliseconds
                batch.put(KeyLayout.debounce(record.key), serialize(stored))
            case .deleteDebounce(let key):
                batch.delete(KeyLayout.debounce(key))
            case .putBatch(let record):
                var stored = Tether_V1_StoredBatch()
                stored.functionID = record.functionId
                stored.eventIds = record.events.map(\.id)
                stored.firstAtUnixMs = record.firstAtMilliseconds
                stored.dueAtUnixMs = record.dueAtMilliseconds
                batch.put(KeyLayout.batch(record.key), serialize(stored))
            case .deleteBatch(let key):
                batch.delete(KeyLayout.batch(key))
            case .putLease(let lease):
                let key = LeaseKey(runId: lease.runId, stepId: lease.stepId)
                if lastLeaseWrite.isEmpty || lastLeaseWrite[key] == index {
                    batch.put(KeyLayout.workLease(runId: lease.runId, stepId: lease.stepId), serialize(RecordCoding.encode(lease)))
                }
            case .deleteLease(let runId, let stepId):
                if lastLeaseWrite.isEmpty || lastLeaseWrite[LeaseKey(runId: runId, stepId: stepId)] == index {
                    batch.delete(KeyLayout.workLease(runId: runId, stepId: stepId))
                }
            }
        }
        return batch
    }

    /// When `run` ended, for the retention index (its creation time when no end was recorded).
    static func endedAt(_ run: RunRecord) -> Int64 {
        run.endedAtMilliseconds > 0 ? run.endedAtMilliseconds : run.createdAtMilliseconds
    }

    /// Makes `mutations` durable with group commit; `completion` runs on the writer thread.
    /// Returns the key and value bytes queued, for a caller that bounds what is not yet durable.
    @discardableResult
    public func commit(_ mutations: [StoreMutation], completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) -> Int {
        let batch = Self.batch(for: mutations)
        writer.submit(batch, completion: completion)
        return batch.byteCount
    }

    private static func serialize(_ message: some SwiftProtobuf.Message) -> [UInt8] {
        // Serializing a fully initialised proto3 message cannot fail.
        (try? message.serializedBytes()) ?? []
    }

    // MARK: Reading

    /// Every function definition ever registered.
    public func loadFunctions() throws -> [FunctionDefinition] {
        var functions: [FunctionDefinition] = []
        try db.forEach(prefix: KeyLayout.prefix(.function)) { _, value in
            functions.append(try RecordCoding.decode(Tether_V1_StoredFunction(serializedBytes: value)))
            return true
        }
        return functions
    }

    /// The last tick each cron trigger fired, by trigger key.
    public func loadCronTicks() throws -> [String: Int64] {
        try loadTimes(.cronTick)
    }

    /// Idempotency keys with the time their run started (expired ones included: the
    /// coordinator deletes them on its first tick).
    public func loadIdempotencyKeys() throws -> [String: Int64] {
        try loadTimes(.idempotencyKey)
    }

    /// Throttle and rate-limit states (GCRA arrival times) by key.
    public func loadFlowStates() throws -> [String: Int64] {
        try loadTimes(.flowState)
    }

    /// Debounces waiting for their events to go quiet.
    public func loadDebounces() throws -> [DebounceRecord] {
        var records: [DebounceRecord] = []
        let prefixLength = KeyLayout.prefix(.debounce).count
        try db.forEach(prefix: KeyLayout.prefix(.debounce)) { key, value in
            let stored = try Tether_V1_StoredDebounce(serializedBytes: value)
            records.append(
                DebounceRecord(
                    key: KeyLayout.id(of: key, droppingPrefix: prefixLength), functionId: stored.functionID,
                    event: RecordCoding.decode(stored.event), firstAtMilliseconds: stored.firstAtUnixMs,
                    dueAtMilliseconds: stored.dueAtUnixMs))
            return true
        }
        return records
    }

    /// Batches being collected, with their events read back from the stored events.
    public func loadBatches() throws -> [BatchRecord] {
        var stored: [(key: String, batch: Tether_V1_StoredBatch)] = []
        let prefixLength = KeyLayout.prefix(.batch).count
        try db.forEach(prefix: KeyLayout.prefix(.batch)) { key, value in
            stored.append((KeyLayout.id(of: key, droppingPrefix: prefixLength), try Tether_V1_StoredBatch(serializedBytes: value)))
            return true
        }
        return try stored.map { key, batch in
            BatchRecord(
                key: key, functionId: batch.functionID, events: try events(ids: batch.eventIds),
                firstAtMilliseconds: batch.firstAtUnixMs, dueAtMilliseconds: batch.dueAtUnixMs)
        }
    }

    /// Step requests that were out on workers when the coordinator stopped.
    ///
    /// Leases stored under the retired `lease` kind (by request id) are rewritten under
    /// `workLease` first, in one synchronous write.
    public func loadLeases() throws -> [LeaseRecord] {
        var legacy: [LeaseRecord] = []
        let legacyPrefixLength = KeyLayout.prefix(.lease).count
        try db.forEach(prefix: KeyLayout.prefix(.lease)) { key, value in
            var stored = try Tether_V1_StoredLease(serializedBytes: value)
            stored.requestID = KeyLayout.id(of: key, droppingPrefix: legacyPrefixLength)
            legacy.append(RecordCoding.decode(stored))
            return true
        }
        if !legacy.isEmpty {
            var batch = WriteBatch()
            for record in legacy {
                batch.delete(KeyLayout.lease(record.requestId))
                batch.put(KeyLayout.workLease(runId: record.runId, stepId: record.stepId), Self.serialize(RecordCoding.encode(record)))
            }
            try db.write(batch, sync: true)
        }
        var records: [LeaseRecord] = []
        try db.forEach(prefix: KeyLayout.prefix(.workLease)) { _, value in
            records.append(RecordCoding.decode(try Tether_V1_StoredLease(serializedBytes: value)))
            return true
        }
        return records
    }

    /// A lease's key in a write: the work it leases.
    struct LeaseKey: Hashable {
        var runId: String
        var stepId: String
    }

    private func loadTimes(_ kind: KeyKind) throws -> [String: Int64] {
        var times: [String: Int64] = [:]
        let prefixLength = KeyLayout.prefix(kind).count
        try db.forEach(prefix: KeyLayout.prefix(kind)) { key, value in
            guard value.count == 8 else { return true }
            let raw = value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            times[KeyLayout.id(of: key, droppingPrefix: prefixLength)] = Int64(bitPattern: raw)
            return true
        }
        return times
    }

    private static func bigEndian(_ time: Int64) -> [UInt8] {
        let value = UInt64(bitPattern: time)
        return (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    /// Every run that has not ended, complete with events and steps, oldest first.
    public func loadActiveRuns() throws -> [RunRecord] {
        var ids: [String] = []
        let prefixLength = KeyLayout.prefix(.activeRun).count
        try db.forEach(prefix: KeyLayout.prefix(.activeRun)) { key, _ in
            ids.append(KeyLayout.id(of: key, droppingPrefix: prefixLength))
            return true
        }
        return try ids.compactMap { try run(id: $0) }.filter { !$0.status.isTerminal }
    }

    /// A run with its events and steps, or nil when there is none with that id.
    public func run(id: String) throws -> RunRecord? {
        guard var run = try runHeader(id: id) else { return nil }
        run.events = try events(ids: try storedHeader(id: id)?.eventIds ?? [])
        run.steps = try db.scan(prefix: KeyLayout.stepPrefix(runId: id)).map {
            RecordCoding.decode(try Tether_V1_StoredStep(serializedBytes: $0.value))
        }
        return run
    }

    /// A run without its events and steps (for listings).
    public func runHeader(id: String) throws -> RunRecord? {
        try storedHeader(id: id).map(RecordCoding.decodeHeader)
    }

    private func storedHeader(id: String) throws -> Tether_V1_StoredRun? {
        guard let bytes = try db.get(KeyLayout.run(id)) else { return nil }
        return try Tether_V1_StoredRun(serializedBytes: bytes)
    }

    /// The stored events with these ids, in order (missing ones skipped).
    public func events(ids: [String]) throws -> [EventRecord] {
        try ids.compactMap { try event(id: $0)?.event }
    }

    /// An accepted event and the runs it started; nil when there is none, or when retention
    /// deleted its payload (``knownEvent(id:)`` still finds its id).
    public func event(id: String) throws -> (event: EventRecord, runIds: [String], receivedAtMilliseconds: Int64)? {
        guard let bytes = try db.get(KeyLayout.event(id)) else { return nil }
        let stored = try Tether_V1_StoredEvent(serializedBytes: bytes)
        guard stored.hasEvent else { return nil }  // pruned by retention: only its id is left
        var event = RecordCoding.decode(stored.event)
        event.traceParent = stored.traceParent
        return (event, stored.runIds, stored.receivedAtUnixMs)
    }

    /// One page of runs, newest first, optionally of one function and one status.
    ///
    /// `cursor` is the `next` of the previous page. Scans at most `scanLimit` runs per call, so
    /// a rare status never makes a request slow; `next` lets the caller go on.
    public func listRuns(
        functionId: String? = nil, status: RunStatus? = nil, limit: Int, cursor: String? = nil, scanLimit: Int = 10_000
    ) throws -> (runs: [RunRecord], next: String?) {
        try listRuns(functionId: functionId, statuses: status.map { [$0] }, limit: limit, cursor: cursor, scanLimit: scanLimit)
    }

    /// One page of runs whose stored status is one of `statuses` (all when nil).
    public func listRuns(
        functionId: String? = nil, statuses: Set<RunStatus>?, limit: Int, cursor: String? = nil, scanLimit: Int = 10_000
    ) throws -> (runs: [RunRecord], next: String?) {
        let prefix: [UInt8]
        let after: [UInt8]?
        if let functionId {
            prefix = KeyLayout.functionRunPrefix(functionId: functionId)
            after = cursor.map { KeyLayout.functionRun(functionId: functionId, runId: $0) }
        } else {
            prefix = KeyLayout.prefix(.run)
            after = cursor.map { KeyLayout.run($0) }
        }
        var runs: [RunRecord] = []
        var scanned = 0
        var lastId: String?
        var exhausted = true
        try db.forEach(prefix: prefix, after: after, reverse: true) { key, value in
            let runId = KeyLayout.id(of: key, droppingPrefix: prefix.count)
            scanned += 1
            lastId = runId
            let header: RunRecord?
            if functionId == nil {
                header = RecordCoding.decodeHeader(try Tether_V1_StoredRun(serializedBytes: value))
            } else {
                header = try runHeader(id: runId)
            }
            if let header, statuses?.contains(header.status) ?? true {
                runs.append(header)
            }
            if runs.count >= limit || scanned >= scanLimit {
                exhausted = false
                return false
            }
            return true
        }
        return (runs, exhausted ? nil : lastId)
    }
}
