import Testing
import TetherEngine

@testable import TetherStore

@Suite("Coordinator store")
struct CoordinatorStoreTests {
    static let function = FunctionDefinition(
        app: "shop", slug: "process-order", name: "Process",
        triggers: [.event(name: "order/created", expression: "event.data.amount > 1"), .cron(schedule: "*/5 * * * *", timeZone: "Europe/Paris")],
        retries: 3)

    static func event(_ id: String) -> EventRecord {
        EventRecord(id: id, name: "order/created", data: bytes(#"{"amount":5}"#), timestampMilliseconds: 1_000, version: "2")
    }

    static func run(_ id: String, status: RunStatus = .queued, steps: [StepRecord] = []) -> RunRecord {
        RunRecord(
            id: id, functionId: function.id, app: "shop", functionSlug: function.slug, status: status,
            events: [event("e-\(id)")], createdAtMilliseconds: 1_000, maxAttempts: 4, steps: steps)
    }

    func commit(_ store: CoordinatorStore, _ mutations: [StoreMutation]) async throws {
        try await store.writer.write(CoordinatorStore.batch(for: mutations))
    }

    @Test("durable primitives round-trip: step kinds, timers, waits, invokes, cron ticks, idempotency keys")
    func primitivesRoundTrip() async throws {
        try await withTemporaryDirectory { directory in
            var function = Self.function
            function.cancelOn = [CancelOnDefinition(event: "order/cancelled", match: "async.data.id == event.data.id")]
            function.timeoutStartMilliseconds = 60_000
            function.timeoutFinishMilliseconds = 3_600_000
            function.idempotency = "event.data.id"
            var run = Self.run("01B", status: .waiting)
            run.parentRunId = "01P"
            run.parentStepId = "child"
            run.steps = [
                StepRecord(id: "nap", status: .sleeping, attempts: 0, kind: .sleep, dueAtMilliseconds: 50_000),
                StepRecord(
                    id: "approval", status: .waiting, attempts: 0, kind: .waitForEvent, dueAtMilliseconds: 90_000,
                    waitEvent: "order/approved", waitMatch: "async.data.id == event.data.id"),
                StepRecord(id: "pay", status: .invoking, attempts: 0, kind: .invoke, childRunId: "01C"),
                StepRecord(id: "b", status: .pending, attempts: 2, kind: .run, nextAttemptAtMilliseconds: 77_000),
            ]
            do {
                let store = try CoordinatorStore(directory: directory, durability: .strict)
                try await commit(
                    store,
                    [
                        .putFunction(function, updatedAtMilliseconds: 5),
                        .putEvent(Self.event("e-01B"), runIds: ["01B"], receivedAtMilliseconds: 7),
                        .putRun(run, stepIndices: [0, 1, 2, 3], created: true),
                        .putCronTick(key: "shop:process-order\u{0}*/5 * * * *\u{0}", firedAtMilliseconds: 1_700_000_100_000),
                        .putIdempotencyKey(key: "shop:process-order\u{0}\"a\"", atMilliseconds: 42),
                        .putIdempotencyKey(key: "shop:process-order\u{0}\"b\"", atMilliseconds: 43),
                    ])
                try await commit(store, [.deleteIdempotencyKey(key: "shop:process-order\u{0}\"b\"")])
                store.close()
            }
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            #expect(try store.loadFunctions() == [function])
            #expect(try store.loadActiveRuns() == [run])
            #expect(try store.loadCronTicks() == ["shop:process-order\u{0}*/5 * * * *\u{0}": 1_700_000_100_000])
            #expect(try store.loadIdempotencyKeys() == ["shop:process-order\u{0}\"a\"": 42])
            #expect(try store.event(id: "e-01B")?.receivedAtMilliseconds == 7)
        }
    }

    @Test("events, runs, steps and functions round-trip through RocksDB and a reopen")
    func roundTrip() async throws {
        try await withTemporaryDirectory { directory in
            var run = Self.run("01A")
            do {
                let store = try CoordinatorStore(directory: directory, durability: .strict)
                try await commit(
                    store,
                    [
                        .putFunction(Self.function, updatedAtMilliseconds: 5),
                        .putEvent(Self.event("e-01A"), runIds: ["01A"], receivedAtMilliseconds: 7),
                        .putRun(run, stepIndices: [], created: true),
                    ])
                run.status = .running
                run.steps = [
                    StepRecord(id: "reserve", status: .completed, attempts: 1, output: bytes("\"r1\""), worker: "w1", startedAtMilliseconds: 10, endedAtMilliseconds: 12),
                    StepRecord(id: "charge", status: .retrying, attempts: 2, error: RunError(code: "step_failed", message: "declined", type: "PaymentError")),
                ]
                run.attempt = 2
                run.nextAttemptAtMilliseconds = 9_999
                try await commit(store, [.putRun(run, stepIndices: [0, 1], created: false)])
                store.close()
            }
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            #expect(try store.loadFunctions() == [Self.function])
            let loaded = try #require(try store.run(id: "01A"))
            #expect(loaded == run)
            #expect(try store.loadActiveRuns() == [run])
            let stored = try #require(try store.event(id: "e-01A"))
            #expect(stored.event == Self.event("e-01A"))
            #expect(stored.runIds == ["01A"])
            #expect(try store.run(id: "missing") == nil)
        }
    }

    @Test("a function's flow control survives a reopen")
    func functionFlowControlRoundTrip() async throws {
        try await withTemporaryDirectory { directory in
            var function = Self.function
            function.flow = FlowControl(
                concurrency: [ConcurrencyLimit(limit: 20), ConcurrencyLimit(limit: 2, key: "event.data.customerId")],
                throttle: Throttle(limit: 5, periodMilliseconds: 60_000, burst: 1, key: "event.data.shop"),
                rateLimit: RateLimit(limit: 100, periodMilliseconds: 3_600_000),
                debounce: Debounce(periodMilliseconds: 5_000, key: "event.data.id", timeoutMilliseconds: 30_000),
                priority: "event.data.amount > 100",
                singleton: Singleton(key: "event.data.customerId", mode: .cancel))
            var batching = Self.function
            batching.slug = "nightly-import"
            batching.flow = FlowControl(
                batchEvents: BatchEvents(maxSize: 100, timeoutMilliseconds: 10_000, key: "event.data.tenant"))
            do {
                let store = try CoordinatorStore(directory: directory, durability: .strict)
                try await commit(
                    store,
                    [
                        .putFunction(function, updatedAtMilliseconds: 5),
                        .putFunction(batching, updatedAtMilliseconds: 6),
                    ])
                store.close()
            }
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            let loaded = try store.loadFunctions().sorted { $0.slug < $1.slug }
            #expect(loaded == [batching, function])
        }
    }

    @Test("flow state, debounces and batches round-trip; deleted ones stay gone; batches resolve their events")
    func flowRecordsRoundTrip() async throws {
        try await withTemporaryDirectory { directory in
            let events = (1...3).map { Self.event("e-batch-\($0)") }
            let debounce = DebounceRecord(
                key: "shop:process-order\u{0}\"doc-1\"", functionId: Self.function.id, event: Self.event("e-debounced"),
                firstAtMilliseconds: 1_000, dueAtMilliseconds: 6_000)
            let batch = BatchRecord(
                key: "shop:process-order\u{0}\"t-1\"", functionId: Self.function.id, events: events,
                firstAtMilliseconds: 2_000, dueAtMilliseconds: 12_000)
            let gone = DebounceRecord(
                key: "shop:process-order\u{0}\"doc-2\"", functionId: Self.function.id, event: Self.event("e-gone"),
                firstAtMilliseconds: 1, dueAtMilliseconds: 2)
            let started = BatchRecord(
                key: "shop:process-order\u{0}\"t-2\"", functionId: Self.function.id, events: [events[0]],
                firstAtMilliseconds: 3_000, dueAtMilliseconds: 13_000)
            do {
                let store = try CoordinatorStore(directory: directory, durability: .strict)
                try await commit(
                    store,
                    events.map { .putEvent($0, runIds: [], receivedAtMilliseconds: 7) } + [
                        .putFlowState(key: "shop:process-order\u{0}throttle\u{0}\"a\"", value: 1_700_000_000_000),
                        .putFlowState(key: "shop:process-order\u{0}rate\u{0}null", value: -5),
                        .putFlowState(key: "shop:process-order\u{0}throttle\u{0}\"b\"", value: 9),
                        .putDebounce(debounce),
                        .putDebounce(gone),
                        .putBatch(batch),
                        .putBatch(started),
                    ])
                try await commit(
                    store,
                    [
                        .deleteFlowState(key: "shop:process-order\u{0}throttle\u{0}\"b\""),
                        .deleteDebounce(key: gone.key),
                        .deleteBatch(key: started.key),
                    ])
                store.close()
            }
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            #expect(
                try store.loadFlowStates() == [
                    "shop:process-order\u{0}throttle\u{0}\"a\"": 1_700_000_000_000,
                    "shop:process-order\u{0}rate\u{0}null": -5,
                ])
            #expect(try store.loadDebounces() == [debounce])
            #expect(try store.loadBatches() == [batch])
        }
    }

    @Test("a finished run leaves the active index and keeps its output")
    func finishedRun() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            var run = Self.run("01B")
            try await commit(store, [.putRun(run, stepIndices: [], created: true)])
            run.status = .completed
            run.output = bytes(#"{"ok":true}"#)
            run.endedAtMilliseconds = 50
            try await commit(store, [.putRun(run, stepIndices: [], created: false)])
            #expect(try store.loadActiveRuns().isEmpty)
            #expect(try store.run(id: "01B")?.output == bytes(#"{"ok":true}"#))
        }
    }

    @Test("listing is newest first, filters by function and status, and pages with a cursor")
    func listing() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            var other = Self.run("01C0")
            other.functionId = "shop:other"
            var mutations: [StoreMutation] = [.putRun(other, stepIndices: [], created: true)]
            for i in 1...9 {
                mutations.append(.putRun(Self.run("01C\(i)", status: i % 3 == 0 ? .failed : .queued), stepIndices: [], created: true))
            }
            try await commit(store, mutations)

            let first = try store.listRuns(limit: 4)
            #expect(first.runs.map(\.id) == ["01C9", "01C8", "01C7", "01C6"])
            let second = try store.listRuns(limit: 4, cursor: first.next)
            #expect(second.runs.map(\.id) == ["01C5", "01C4", "01C3", "01C2"])
            let third = try store.listRuns(limit: 4, cursor: second.next)
            #expect(third.runs.map(\.id) == ["01C1", "01C0"])
            #expect(third.next == nil)

            let failed = try store.listRuns(status: .failed, limit: 10)
            #expect(failed.runs.map(\.id) == ["01C9", "01C6", "01C3"])
            let ofOther = try store.listRuns(functionId: "shop:other", limit: 10)
            #expect(ofOther.runs.map(\.id) == ["01C0"])
            let ofOrders = try store.listRuns(functionId: Self.function.id, status: .queued, limit: 3)
            #expect(ofOrders.runs.map(\.id) == ["01C8", "01C7", "01C5"])
        }
    }

    @Test("a store written by another key layout version is refused")
    func schemaVersion() throws {
        try withTemporaryDirectory { directory in
            do {
                let db = try RocksDB(path: directory)
                try db.put(KeyLayout.schemaKey, bytes("99"), sync: true)
                db.close()
            }
            #expect {
                _ = try CoordinatorStore(directory: directory, durability: .strict)
            } throws: { error in
                (error as? StoreError)?.message.contains("version 99") == true
            }
        }
    }

    @Test("step keys sort by index, so steps load in order past 255")
    func stepOrder() {
        let keys = (0..<300).map { KeyLayout.step(runId: "R", index: $0) }
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
