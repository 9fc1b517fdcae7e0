import Testing
import TetherEngine

@testable import TetherStore

@Suite("Coordinator store: leases")
struct CoordinatorStoreLeaseTests {
    static func lease(_ requestId: String, run: String = "R1", step: String = "") -> LeaseRecord {
        LeaseRecord(
            requestId: requestId, runId: run, stepId: step, instanceId: "i1", app: "shop", dispatchedAtMilliseconds: 5_000)
    }

    func commit(_ store: CoordinatorStore, _ mutations: [StoreMutation]) async throws {
        try await store.writer.write(CoordinatorStore.batch(for: mutations))
    }

    @Test("a lease is keyed by its work: the run's next request replaces the last one, and the last write to a key wins")
    func keyedByWork() async throws {
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .strict)
            defer { store.close() }
            try await commit(store, [.putLease(Self.lease("q1")), .putLease(Self.lease("p1", step: "a"))])
            #expect(try store.loadLeases().map(\.requestId).sorted() == ["p1", "q1"])
            // A result's write: the old request's delete, then the run's next request.
            try await commit(store, [.deleteLease(runId: "R1", stepId: ""), .putLease(Self.lease("q2"))])
            #expect(try store.loadLeases().map(\.requestId).sorted() == ["p1", "q2"])
            // Put then delete, and delete, put, delete: the key ends deleted.
            try await commit(
                store,
                [
                    .deleteLease(runId: "R1", stepId: "a"), .putLease(Self.lease("p2", step: "a")),
                    .deleteLease(runId: "R1", stepId: "a"),
                ])
            #expect(try store.loadLeases().map(\.requestId) == ["q2"])
            try await commit(store, [.putLease(Self.lease("q3", run: "R2")), .deleteLease(runId: "R2", stepId: "")])
            #expect(try store.loadLeases().map(\.requestId) == ["q2"])
            #expect(try store.loadLeases() == [Self.lease("q2")])
        }
    }

    @Test("of several writes to one lease in a batch only the last is written")
    func coalesced() {
        let one = CoordinatorStore.batch(for: [.putLease(Self.lease("q2"))])
        let three = CoordinatorStore.batch(
            for: [.deleteLease(runId: "R1", stepId: ""), .putLease(Self.lease("q2")), .deleteLease(runId: "R2", stepId: "")])
        let four = CoordinatorStore.batch(
            for: [.deleteLease(runId: "R1", stepId: ""), .putLease(Self.lease("q2")), .deleteLease(runId: "R2", stepId: "")]
                + [.deleteLease(runId: "R1", stepId: "x")])
        #expect(one.count == 1)
        #expect(three.count == 2)
        #expect(four.count == 3)
    }

    @Test("a continuation lease in a header stores only what the header does not say; it reads back whole")
    func compactContinuation() throws {
        var run = RunRecord(
            id: "R1", functionId: "shop:f", app: "shop", functionSlug: "f", status: .running, events: [],
            createdAtMilliseconds: 1_000, maxAttempts: 3)
        run.continuationLease = Self.lease("q2")
        let header = RecordCoding.encodeHeader(run)
        #expect(header.continuationLease.runID.isEmpty && header.continuationLease.stepID.isEmpty)
        #expect(header.continuationLease.app.isEmpty, "the run's app")
        #expect(RecordCoding.decodeHeader(header).continuationLease == Self.lease("q2"))
        // A lease held by an instance of another app (never the case today) keeps its app, and
        // a header written whole by an earlier build reads the same.
        var other = Self.lease("q3")
        other.app = "billing"
        run.continuationLease = other
        #expect(RecordCoding.decodeHeader(RecordCoding.encodeHeader(run)).continuationLease == other)
        var whole = RecordCoding.encodeHeader(run)
        whole.continuationLease = RecordCoding.encode(Self.lease("q4"))
        #expect(RecordCoding.decodeHeader(whole).continuationLease == Self.lease("q4"))
    }

    @Test("a run's header written twice in a commit is written once, the last one, with its continuation lease")
    func headerOnce() async throws {
        var run = RunRecord(
            id: "R1", functionId: "shop:f", app: "shop", functionSlug: "f", status: .running, events: [],
            createdAtMilliseconds: 1_000, maxAttempts: 3,
            steps: [StepRecord(id: "a", status: .completed, attempts: 1, output: Array("1".utf8))], lastRequestId: "q1")
        let applied = StoreMutation.putRun(run, stepIndices: [0], created: false)
        run.continuationLease = Self.lease("q2")
        let next = StoreMutation.putRun(run, stepIndices: [], created: false)
        #expect(CoordinatorStore.batch(for: [applied, next]).count == 2, "one header, one step")
        try await withTemporaryDirectory { directory in
            let store = try CoordinatorStore(directory: directory, durability: .strict)
            defer { store.close() }
            try await commit(store, [.putRun(run, stepIndices: [], created: true)])
            try await commit(store, [applied, next])
            let loaded = try #require(try store.loadActiveRuns().first)
            #expect(loaded.continuationLease == Self.lease("q2"))
            #expect(loaded.lastRequestId == "q1")
            #expect(loaded.steps.map(\.id) == ["a"])
        }
    }

    @Test("leases of the retired request-id kind are read and rewritten under the work they lease")
    func legacyLeasesMigrate() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let store = try CoordinatorStore(directory: directory, durability: .strict)
                defer { store.close() }
                var stored = RecordCoding.encode(Self.lease("old-request", step: "b"))
                stored.requestID = ""  // the retired kind kept the request id in the key only
                try store.db.put(KeyLayout.lease("old-request"), try stored.serializedBytes(), sync: true)
            }
            let store = try CoordinatorStore(directory: directory, durability: .strict)
            defer { store.close() }
            #expect(try store.loadLeases() == [Self.lease("old-request", step: "b")])
            var legacyKeys = 0
            try store.db.forEach(prefix: KeyLayout.prefix(.lease)) { _, _ in
                legacyKeys += 1
                return true
            }
            #expect(legacyKeys == 0)
            try await commit(store, [.deleteLease(runId: "R1", stepId: "b")])
            #expect(try store.loadLeases().isEmpty)
        }
    }
}
