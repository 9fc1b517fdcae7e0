import Foundation
import Testing

@testable import TetherStore

@Suite struct GroupCommitWriterTests {
    /// Runs `body` with a fresh database and a writer on it; shuts both down afterwards.
    func withWriter<R>(
        _ durability: Durability,
        maxCommitBytes: Int = GroupCommitWriter.defaultMaxCommitBytes,
        maxCommitBatches: Int = GroupCommitWriter.defaultMaxCommitBatches,
        _ body: (RocksDB, GroupCommitWriter) async throws -> R
    ) async throws -> R {
        try await withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            let writer = GroupCommitWriter(
                db: db,
                durability: durability,
                maxCommitBytes: maxCommitBytes,
                maxCommitBatches: maxCommitBatches
            )
            defer {
                writer.shutdown()
                db.close()
            }
            return try await body(db, writer)
        }
    }

    static func batch(_ key: String, _ value: String = "v") -> WriteBatch {
        var batch = WriteBatch()
        batch.put(bytes(key), bytes(value))
        return batch
    }

    @Test(arguments: Durability.allCases)
    func concurrentSubmittersAllCommitAndShareCommits(durability: Durability) async throws {
        let taskCount = 8
        let writesPerTask = 500
        try await withWriter(durability) { db, writer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<taskCount {
                    group.addTask {
                        for index in 0..<writesPerTask {
                            var batch = WriteBatch()
                            batch.put(bytes("task/\(task)/\(index)"), bytes("\(index)"))
                            try await writer.write(batch)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for task in 0..<taskCount {
                let keys = try db.scan(prefix: bytes("task/\(task)/"))
                #expect(keys.count == writesPerTask)
            }
            #expect(try db.get(bytes("task/7/499")) == bytes("499"))

            let statistics = writer.statistics
            #expect(statistics.batches == taskCount * writesPerTask)
            #expect(statistics.commits < statistics.batches)
            #expect(statistics.failedCommits == 0)
            #expect(statistics.fsyncs == (durability == .strict ? statistics.commits : 0))
            #expect(statistics.maxBatchesPerCommit > 1)
            #expect(statistics.bytes > 0)
            #expect(statistics.totalCommitNanoseconds >= statistics.lastCommitNanoseconds)
            // The histograms see every commit: one latency and one group size each.
            #expect(statistics.commitNanoseconds.count == statistics.commits)
            #expect(statistics.commitNanoseconds.sum == statistics.totalCommitNanoseconds)
            #expect(statistics.batchesPerCommit.count == statistics.commits)
            #expect(statistics.batchesPerCommit.sum == UInt64(statistics.batches))
        }
    }

    @Test func batchesSubmittedDuringACommitShareTheNextOne() async throws {
        // Completions run on the writer thread, so whatever they submit is all pending
        // before the writer takes its next group: a deterministic grouping.
        try await withWriter(.strict) { db, writer throws in
            let results = Recorder<Int>()
            writer.submit(Self.batch("first")) { _ in
                for index in 0..<100 {
                    writer.submit(Self.batch("next/\(index)")) { result in
                        if case .success = result { results.append(index) }
                    }
                }
            }
            #expect(results.wait(forCount: 100) == Array(0..<100))
            let statistics = writer.statistics
            #expect(statistics.commits == 2)
            #expect(statistics.fsyncs == 2)
            #expect(statistics.batches == 101)
            #expect(statistics.maxBatchesPerCommit == 100)
            #expect(try db.scan(prefix: bytes("next/")).count == 100)
        }
    }

    @Test func completionsArriveInSubmissionOrder() async throws {
        try await withWriter(.relaxed) { db, writer throws in
            let order = Recorder<Int>()
            for index in 0..<2_000 {
                var batch = WriteBatch()
                batch.put(bytes("counter"), bytes("\(index)"))
                writer.submit(batch) { result in
                    if case .success = result { order.append(index) }
                }
            }
            #expect(order.wait(forCount: 2_000) == Array(0..<2_000))
            // Later batches win over earlier ones on the same key, across merged commits too.
            #expect(try db.get(bytes("counter")) == bytes("1999"))
        }
    }

    @Test func commitsAreBoundedByBatchCount() async throws {
        try await withWriter(.relaxed, maxCommitBatches: 64) { _, writer in
            let done = Recorder<Int>()
            writer.submit(Self.batch("first")) { _ in
                for index in 0..<200 {
                    writer.submit(Self.batch("bulk/\(index)")) { _ in done.append(index) }
                }
            }
            #expect(done.wait(forCount: 200) == Array(0..<200))
            let statistics = writer.statistics
            #expect(statistics.maxBatchesPerCommit == 64)
            #expect(statistics.commits == 1 + 4)  // 64 + 64 + 64 + 8
        }
    }

    @Test func commitsAreBoundedByBytes() async throws {
        try await withWriter(.relaxed, maxCommitBytes: 1_000) { db, writer throws in
            let done = Recorder<Int>()
            let value = String(repeating: "x", count: 296)  // 300 bytes with a 4-byte key
            writer.submit(Self.batch("first")) { _ in
                for index in 0..<7 {
                    writer.submit(Self.batch("k/\(index)", value)) { _ in done.append(index) }
                }
                // Larger than the bound on its own: commits alone.
                writer.submit(Self.batch("huge", String(repeating: "y", count: 5_000))) { _ in done.append(7) }
            }
            #expect(done.wait(forCount: 8) == Array(0..<8))
            let statistics = writer.statistics
            #expect(statistics.commits == 1 + 4)  // [first], 3 × 300, 3 × 300, 1 × 300, [huge]
            #expect(statistics.maxBatchesPerCommit == 3)
            #expect(try db.get(bytes("huge"))?.count == 5_000)
        }
    }

    @Test func shutdownDrainsPendingWrites() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            let writer = GroupCommitWriter(db: db, durability: .strict)
            let done = Recorder<Result<Void, StoreError>>()
            for index in 0..<300 {
                writer.submit(Self.batch("pending/\(index)")) { done.append($0) }
            }
            writer.shutdown()
            // shutdown returned: every submission has been written and completed.
            let results = done.snapshot
            #expect(results.count == 300)
            #expect(results.allSatisfy { if case .success = $0 { true } else { false } })
            #expect(try db.scan(prefix: bytes("pending/")).count == 300)
            #expect(writer.statistics.batches == 300)
        }
    }

    @Test func submitAfterShutdownFailsWithClosed() async throws {
        try await withWriter(.strict) { db, writer in
            try await writer.write(Self.batch("before"))
            writer.shutdown()
            writer.shutdown()

            let outcome = Recorder<Result<Void, StoreError>>()
            writer.submit(Self.batch("after")) { outcome.append($0) }
            // A refused submission completes at once, on the submitting thread.
            let results = outcome.snapshot
            #expect(results.count == 1)
            if case .failure(let error) = results.first {
                #expect(error.code.rawValue == "closed")
            } else {
                Issue.record("submit after shutdown succeeded")
            }
            let error = await #expect(throws: StoreError.self) { try await writer.write(Self.batch("after")) }
            #expect(error?.code.rawValue == "closed")
            #expect(try db.get(bytes("before")) == bytes("v"))
            #expect(try db.get(bytes("after")) == nil)
        }
    }

    @Test func aFailedCommitFailsEveryBatchAndTheWriterKeepsRunning() async throws {
        try await withWriter(.strict) { db, writer in
            try await writer.write(Self.batch("ok"))
            db.close()

            let outcomes = Recorder<String>()
            writer.submit(Self.batch("first")) { result in
                // Submitted while the failing commit runs: they share the next commit.
                for index in 0..<10 {
                    writer.submit(Self.batch("late/\(index)")) { result in
                        if case .failure(let error) = result { outcomes.append(error.code.rawValue) }
                    }
                }
                if case .failure(let error) = result { outcomes.append(error.code.rawValue) }
            }
            #expect(outcomes.wait(forCount: 11) == Array(repeating: "closed", count: 11))
            let statistics = writer.statistics
            #expect(statistics.commits == 3)
            #expect(statistics.failedCommits == 2)
            #expect(statistics.fsyncs == 1)

            // Still running: a later submission is processed (and fails the same way).
            let error = await #expect(throws: StoreError.self) { try await writer.write(Self.batch("later")) }
            #expect(error?.code.rawValue == "closed")
        }
    }

    @Test func emptyBatchesComplete() async throws {
        try await withWriter(.strict) { _, writer in
            try await writer.write(WriteBatch())
            #expect(writer.statistics.batches == 1)
            #expect(writer.statistics.commits == 0)
        }
    }
}
