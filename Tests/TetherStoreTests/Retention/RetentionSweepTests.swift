import Testing
import TetherEngine

@testable import TetherStore

@Suite("Retention: sweeps over a real store")
struct RetentionSweepTests {
    static let hour: Int64 = 3_600_000
    static let window: Int64 = 24 * hour
    /// Runs and events kept one hour.
    static let policy = RetentionPolicy(milliseconds: hour)

    static func event(_ id: String) -> EventRecord {
        EventRecord(id: id, name: "shop/order", data: Array(#"{"n":1}"#.utf8), timestampMilliseconds: 1_000)
    }

    static func run(_ id: String, event: String, status: RunStatus, ended: Int64 = 0, steps: Int = 2) -> RunRecord {
        RunRecord(
            id: id, functionId: "shop:f", app: "shop", functionSlug: "f", status: status, events: [Self.event(event)],
            createdAtMilliseconds: 1_000, endedAtMilliseconds: ended, maxAttempts: 3,
            steps: (0..<steps).map { StepRecord(id: "s\($0)", status: .completed, attempts: 1, output: Array("\"x\"".utf8)) })
    }

    func commit(_ store: CoordinatorStore, _ mutations: [StoreMutation]) async throws {
        try await store.writer.write(CoordinatorStore.batch(for: mutations))
    }

    /// A run created and ended (or not) as the scheduler writes it: its event, then its header and steps.
    func store(_ store: CoordinatorStore, _ run: RunRecord, receivedAt: Int64) async throws {
        try await commit(
            store,
            [
                .putEvent(run.events[0], runIds: [run.id], receivedAtMilliseconds: receivedAt),
                .putRun(run, stepIndices: Array(run.steps.indices), created: true),
            ])
    }

    /// Scans, plans (with `inUse`) and commits one sweep.
    @discardableResult
    func sweep(
        _ store: CoordinatorStore, now: Int64, inUse: Set<String> = [], cursor: RetentionCursor = RetentionCursor(), limit: Int = 1_000
    ) async throws -> RetentionPlan {
        let scan = try store.scanRetention(policy: Self.policy, now: now, cursor: cursor, limit: limit)
        let plan = scan.plan(inUse: inUse.intersection(scan.eventIds), now: now, idWindowMilliseconds: Self.window)
        try await store.writer.write(plan.batch)
        return plan
    }

    func keys(_ store: CoordinatorStore, _ kind: KeyKind) throws -> Int {
        try store.db.scan(prefix: KeyLayout.prefix(kind)).count
    }

    @Test("an ended run goes with its steps and indexes once past the window; a younger one and a live one stay")
    func endedRuns() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            try await self.store(store, Self.run("R1", event: "E1", status: .completed, ended: 10_000), receivedAt: 1_000)
            try await self.store(store, Self.run("R2", event: "E2", status: .failed, ended: 10_000 + Self.hour), receivedAt: 1_000)
            try await self.store(store, Self.run("R3", event: "E3", status: .sleeping), receivedAt: 1_000)
            #expect(try keys(store, .endedRun) == 2)

            // One hour after R1 ended: R1 is due, R2 (ended an hour later) is not, R3 never.
            let plan = try await sweep(store, now: 10_000 + Self.hour, inUse: ["E3"])
            #expect(plan.counts.runs == 1)
            #expect(plan.counts.steps == 2)
            #expect(try store.run(id: "R1") == nil)
            #expect(try store.db.scan(prefix: KeyLayout.stepPrefix(runId: "R1")).isEmpty)
            #expect(try store.listRuns(limit: 10).runs.map(\.id) == ["R3", "R2"])
            #expect(try store.listRuns(functionId: "shop:f", limit: 10).runs.map(\.id) == ["R3", "R2"])
            #expect(try store.run(id: "R2")?.steps.count == 2)
            #expect(try store.run(id: "R3")?.status == .sleeping)
            #expect(try store.loadActiveRuns().map(\.id) == ["R3"])
            #expect(try keys(store, .endedRun) == 1)
        }
    }

    @Test("an event past the window loses its payload but keeps its id and runs for deduplication until 24 h after it came")
    func eventIdsOutliveTheirPayload() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            try await self.store(store, Self.run("R1", event: "E1", status: .completed, ended: 2_000), receivedAt: 1_000)
            let now = 1_000 + Self.hour
            let plan = try await sweep(store, now: now)
            #expect(plan.counts.events == 1)
            #expect(plan.counts.eventIds == 0)
            #expect(try store.event(id: "E1") == nil)
            #expect(try store.knownEvent(id: "E1") == KnownEvent(runIds: ["R1"], receivedAtMilliseconds: 1_000))
            #expect(try keys(store, .eventReceived) == 0)
            #expect(try keys(store, .eventIdHold) == 1)

            // Not yet at 24 h.
            #expect(try await sweep(store, now: 1_000 + Self.window - 1).counts.eventIds == 0)
            #expect(try store.knownEvent(id: "E1") != nil)
            // At 24 h, the id goes too.
            #expect(try await sweep(store, now: 1_000 + Self.window).counts.eventIds == 1)
            #expect(try store.knownEvent(id: "E1") == nil)
            #expect(try keys(store, .eventIdHold) == 0)
            #expect(try keys(store, .event) == 0)
        }
    }

    @Test("an event older than 24 h and than the window goes at once, payload and id")
    func oldEventsGoWhole() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            try await commit(store, [.putEvent(Self.event("E1"), runIds: [], receivedAtMilliseconds: 1_000)])
            let plan = try await sweep(store, now: 1_000 + Self.window)
            #expect(plan.counts.events == 1)
            #expect(try store.knownEvent(id: "E1") == nil)
            #expect(try keys(store, .eventIdHold) == 0)
        }
    }

    @Test("an event a live run needs is kept and comes due again one window later; then it goes")
    func eventsInUseAreKept() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            try await self.store(store, Self.run("R1", event: "E1", status: .sleeping), receivedAt: 1_000)
            let first = 1_000 + Self.hour
            let kept = try await sweep(store, now: first, inUse: ["E1"])
            #expect(kept.counts.eventsKept == 1)
            #expect(try store.event(id: "E1") != nil)
            // Not due again before another window.
            #expect(try await sweep(store, now: first + Self.hour - 1, inUse: ["E1"]).counts.eventsKept == 0)
            let later = try await sweep(store, now: first + Self.hour, inUse: [])
            #expect(later.counts.events == 1)
            #expect(try store.event(id: "E1") == nil)
        }
    }

    @Test("a sweep reads at most its limit per index and says there is more; the cursor goes on where it stopped")
    func boundedBatches() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            for index in 0..<25 {
                let id = "R" + String(100 + index)
                try await self.store(store, Self.run(id, event: "E\(index)", status: .completed, ended: 2_000 + Int64(index)), receivedAt: 1_000)
            }
            let now = 10_000 + Self.hour
            var cursor = RetentionCursor()
            var deleted = 0
            var sweeps = 0
            repeat {
                let plan = try await sweep(store, now: now, cursor: cursor, limit: 10)
                #expect(plan.counts.runs <= 10)
                deleted += plan.counts.runs
                cursor = plan.cursor
                sweeps += 1
                if !plan.hasMore { break }
            } while sweeps < 10
            #expect(deleted == 25)
            #expect(sweeps == 3)
            #expect(try store.listRuns(limit: 100).runs.isEmpty)
            #expect(try store.event(id: "E0") == nil)
            // Nothing is left due.
            #expect(try store.scanRetention(policy: Self.policy, now: now, cursor: cursor).isEmpty)
            #expect(try store.scanRetention(policy: Self.policy, now: now, cursor: RetentionCursor()).isEmpty)
        }
    }

    @Test("an index entry whose run is gone, or not ended, only loses the entry")
    func staleEntries() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            var batch = WriteBatch()
            batch.put(KeyLayout.timed(.endedRun, 5, "GONE"), [])
            batch.put(KeyLayout.timed(.endedRun, 5, "R1"), [])
            try await store.writer.write(batch)
            try await self.store(store, Self.run("R1", event: "E1", status: .running), receivedAt: 1_000)
            let plan = try await sweep(store, now: Self.hour + 10, inUse: ["E1"])
            #expect(plan.counts.runs == 0)
            #expect(try store.run(id: "R1")?.status == .running)
            #expect(try keys(store, .endedRun) == 0)
        }
    }

    @Test("time-ordered keys sort by time, then id, and parse back")
    func timedKeys() {
        let early = KeyLayout.timed(.endedRun, 255, "Z")
        let late = KeyLayout.timed(.endedRun, 256, "A")
        #expect(early.lexicographicallyPrecedes(late))
        #expect(KeyLayout.parseTimed(late).time == 256)
        #expect(KeyLayout.parseTimed(late).id == "A")
        #expect(!late.lexicographicallyPrecedes(KeyLayout.timedBound(.endedRun, after: 255)))
        #expect(early.lexicographicallyPrecedes(KeyLayout.timedBound(.endedRun, after: 255)))
    }
}
