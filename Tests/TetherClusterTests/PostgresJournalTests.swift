import Foundation
import Logging
import NIOPosix
import Synchronization
import Testing
import TetherTestSupport

@testable import TetherCluster
@testable import TetherStore

/// The journal and the lease against a real PostgreSQL (a database per test).
@Suite struct PostgresJournalTests {
    static func journal() async throws -> PostgresJournal {
        let url = try JournalURL(try PostgresTestServer.freshDatabase("journal"))
        var logger = Logger(label: "test.journal")
        logger.logLevel = .critical
        let journal = PostgresJournal(url: url, logger: logger)
        try await journal.prepare()
        return journal
    }

    @Test func leaseIsExclusiveAndTakenOverOnlyOnceExpired() async throws {
        let journal = try await Self.journal()
        defer { Task { await journal.close() } }
        let first = try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 400, http: "h-a", worker: "w-a")
        #expect(first == 1)
        #expect(try await journal.acquireLease(nodeId: "b", ttlMilliseconds: 400, http: "h-b", worker: "w-b") == nil)
        let leader = try await journal.leader()
        #expect(leader.nodeId == "a" && leader.epoch == 1 && leader.isHeld && leader.worker == "w-a")
        #expect(try await journal.renewLease(nodeId: "a", epoch: 1, ttlMilliseconds: 400))
        // Another node's renewal, or one with the wrong epoch, extends nothing.
        #expect(try await journal.renewLease(nodeId: "b", epoch: 1, ttlMilliseconds: 400) == false)
        #expect(try await journal.renewLease(nodeId: "a", epoch: 2, ttlMilliseconds: 400) == false)
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await journal.renewLease(nodeId: "a", epoch: 1, ttlMilliseconds: 400) == false)
        let second = try await journal.acquireLease(nodeId: "b", ttlMilliseconds: 5_000, http: "h-b", worker: "w-b")
        #expect(second == 2)
        #expect(try await journal.leader().nodeId == "b")
        // A node that restarts with the id of the holder takes the lease over at once, with a new epoch.
        #expect(try await journal.acquireLease(nodeId: "b", ttlMilliseconds: 5_000, http: "h-b", worker: "w-b") == 3)
        try await journal.releaseLease(nodeId: "b", epoch: 3)
        #expect(try await journal.leader().isHeld == false)
        #expect(try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 5_000, http: "h-a", worker: "w-a") == 4)
    }

    /// Nodes of a new cluster start together: each creates the tables, none fails.
    @Test func nodesStartingTogetherPrepareTheTablesWithoutError() async throws {
        var logger = Logger(label: "test.journal")
        logger.logLevel = .critical
        for _ in 0..<5 {
            let url = try JournalURL(try PostgresTestServer.freshDatabase("prepare"))
            let journals = (0..<4).map { _ in PostgresJournal(url: url, logger: logger) }
            let failures = await withTaskGroup(of: ClusterError?.self) { group in
                for journal in journals {
                    group.addTask {
                        do throws(ClusterError) {
                            try await journal.prepare()
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                return await group.reduce(into: [ClusterError]()) { if let failure = $1 { $0.append(failure) } }
            }
            #expect(failures.isEmpty, "\(failures)")
            #expect(try await journals[0].leader().nodeId == "")
            for journal in journals { await journal.close() }
        }
    }

    @Test func appendsAreFencedByTheEpoch() async throws {
        let journal = try await Self.journal()
        defer { Task { await journal.close() } }
        let epoch = try #require(try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 300, http: "", worker: ""))
        #expect(try await journal.append(sequence: 1, epoch: epoch, nodeId: "a", batch: [1, 2, 3]))
        #expect(try await journal.append(sequence: 2, epoch: epoch, nodeId: "a", batch: [4]))
        // Not the holder: refused.
        #expect(try await journal.append(sequence: 3, epoch: epoch, nodeId: "b", batch: [5]) == false)
        try await Task.sleep(for: .milliseconds(450))
        // The lease ran out: refused even to its holder.
        #expect(try await journal.append(sequence: 3, epoch: epoch, nodeId: "a", batch: [5]) == false)
        let next = try #require(try await journal.acquireLease(nodeId: "b", ttlMilliseconds: 5_000, http: "", worker: ""))
        #expect(try await journal.append(sequence: 3, epoch: epoch, nodeId: "a", batch: [6]) == false)
        #expect(try await journal.append(sequence: 3, epoch: next, nodeId: "b", batch: [7]))
        let entries = try await journal.entries(after: 0, limit: 10)
        #expect(entries.map(\.sequence) == [1, 2, 3])
        #expect(entries.map(\.batch) == [[1, 2, 3], [4], [7]])
        #expect(entries.map(\.epoch) == [epoch, epoch, next])
        #expect(try await journal.entries(after: 2, limit: 10).map(\.sequence) == [3])
        #expect(try await journal.bounds() == (1, 3))
        #expect(try await journal.trim(below: 3) == 2)
        #expect(try await journal.bounds() == (3, 3))
    }

    @Test func appenderNumbersCommitsAndStopsAtItsLocalDeadline() async throws {
        let journal = try await Self.journal()
        defer { Task { await journal.close() } }
        let epoch = try #require(try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 10_000, http: "", worker: ""))
        let now = JournalAppender.monotonicNanoseconds()
        let appender = JournalAppender(
            journal: journal, nodeId: "a", epoch: epoch, firstSequence: 1, leaseValidUntil: now + 200_000_000)
        let sequences = try await Self.onThread { (try appender.append([1]), try appender.append([2])) }
        #expect(sequences == (1, 2))
        try await Task.sleep(for: .milliseconds(250))
        // The database would still take it, but by this node's clock the lease may be gone.
        let late = try await Self.onThread { Result { () throws(StoreError) in try appender.append([3]) } }
        #expect(late.errorCode == .fenced)
        // Sticky: a renewal does not bring a fenced term back.
        appender.extendLease(until: JournalAppender.monotonicNanoseconds() + 10_000_000_000)
        let after = try await Self.onThread { Result { () throws(StoreError) in try appender.append([4]) } }
        #expect(after.errorCode == .fenced)
        #expect(appender.statistics.appends == 2)
        #expect(try await journal.bounds() == (1, 2))
    }

    @Test func aWriterWithAJournalKeepsAStandbyIdentical() async throws {
        let journal = try await Self.journal()
        defer { Task { await journal.close() } }
        let epoch = try #require(try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 10_000, http: "", worker: ""))
        let appender = JournalAppender(
            journal: journal, nodeId: "a", epoch: epoch, firstSequence: 1,
            leaseValidUntil: JournalAppender.monotonicNanoseconds() + 10_000_000_000)
        let leaderDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("leader-\(UUID())").path
        let standbyDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("standby-\(UUID())").path
        defer {
            try? FileManager.default.removeItem(atPath: leaderDirectory)
            try? FileManager.default.removeItem(atPath: standbyDirectory)
        }
        let leader = try RocksDB(path: leaderDirectory)
        let writer = GroupCommitWriter(db: leader, durability: .strict, journal: appender)
        // Many concurrent writers: group commits of several batches each.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    var batch = WriteBatch()
                    batch.put(Array("key-\(index)".utf8), Array("value-\(index)".utf8))
                    if index % 7 == 0 { batch.delete(Array("key-\(index - 1)".utf8)) }
                    try await writer.write(batch)
                }
            }
            try await group.waitForAll()
        }
        writer.shutdown()
        let applied = try leader.journalSequence()
        #expect(applied == appender.nextSequence - 1)
        #expect(applied >= 1)

        let standby = try RocksDB(path: standbyDirectory)
        for entry in try await journal.entries(after: 0, limit: 10_000) {
            try standby.applyJournalEntry(sequence: entry.sequence, batch: entry.batch, sync: false)
        }
        #expect(try standby.journalSequence() == applied)
        let leaderContents = try leader.scan(prefix: []).map { $0.key + [0xFF] + $0.value }
        let standbyContents = try standby.scan(prefix: []).map { $0.key + [0xFF] + $0.value }
        #expect(leaderContents == standbyContents)
        #expect(try standby.get(Array("key-5".utf8)) == Array("value-5".utf8))
        leader.close()
        standby.close()
    }

    /// A write batch with no operations: its 12-byte header (sequence and count) of zeros.
    static let emptyBatch = [UInt8](repeating: 0, count: 12)

    @Test func checkpointsAreRecordedAndTrimmingKeepsTheirEntry() async throws {
        let journal = try await Self.journal()
        defer { Task { await journal.close() } }
        let epoch = try #require(try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 10_000, http: "", worker: ""))
        for sequence in UInt64(1)...10 {
            #expect(try await journal.append(sequence: sequence, epoch: epoch, nodeId: "a", batch: Self.emptyBatch))
        }
        let older = CheckpointRecord(id: "01JH2W6V8Q0000000000000001", sequence: 4, nodeId: "a", path: "/c/01JH2W6V8Q0000000000000001")
        let newer = CheckpointRecord(id: "01JH2W6V8Q0000000000000002", sequence: 7, nodeId: "b", path: "/c/01JH2W6V8Q0000000000000002")
        try await journal.recordCheckpoint(older)
        try await journal.recordCheckpoint(newer)
        try await journal.recordCheckpoint(newer)
        #expect(try await journal.checkpoints() == [newer, older])
        try await journal.forgetCheckpoints([older.id])
        #expect(try await journal.checkpoints() == [newer])
        // Below the checkpoint's own entry: a store restored from it continues at 8.
        #expect(try await journal.trim(below: newer.sequence) == 6)
        #expect(try await journal.bounds() == (7, 10))
        #expect(try await journal.trim(below: newer.sequence) == 0)

        // A store that ends at 5 cannot follow any more; one restored from the checkpoint can.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tail-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try RocksDB(path: directory)
        defer { db.close() }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let tailer = JournalTailer(journal: journal, db: db, threadPool: pool)
        try db.applyJournalEntry(sequence: 5, batch: Self.emptyBatch, sync: false)
        let error = await #expect(throws: ClusterError.self) { try await tailer.catchUp() }
        #expect(error?.code == .journalTrimmed)
        try db.applyJournalEntry(sequence: 7, batch: Self.emptyBatch, sync: false)
        #expect(try await tailer.catchUp() == 10)
    }

    @Test func aFencedWriterWritesNothingLocally() async throws {
        let journal = try await Self.journal()
        defer { Task { await journal.close() } }
        let epoch = try #require(try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 10_000, http: "", worker: ""))
        let appender = JournalAppender(
            journal: journal, nodeId: "a", epoch: epoch, firstSequence: 1,
            leaseValidUntil: JournalAppender.monotonicNanoseconds() + 10_000_000_000)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fenced-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try RocksDB(path: directory)
        let writer = GroupCommitWriter(db: db, durability: .strict, journal: appender)
        var first = WriteBatch()
        first.put([1], [1])
        try await writer.write(first)
        // Another node takes over (the lease is released, as a graceful stop would).
        try await journal.releaseLease(nodeId: "a", epoch: epoch)
        _ = try await journal.acquireLease(nodeId: "b", ttlMilliseconds: 10_000, http: "", worker: "")
        var second = WriteBatch()
        second.put([2], [2])
        await #expect(throws: StoreError.self) { try await writer.write(second) }
        var third = WriteBatch()
        third.put([3], [3])
        await #expect(throws: StoreError.self) { try await writer.write(third) }
        #expect(try db.get([1]) == [1])
        #expect(try db.get([2]) == nil)
        #expect(try db.get([3]) == nil)
        #expect(try db.journalSequence() == 1)
        writer.shutdown()
        db.close()
    }

    @Test func listenersHearAppends() async throws {
        let journal = try await Self.journal()
        defer { Task { await journal.close() } }
        let heard = Atomic<Int>(0)
        let listening = Task { try await journal.listenForAppends { heard.wrappingAdd(1, ordering: .relaxed) } }
        defer { listening.cancel() }
        let epoch = try #require(try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 10_000, http: "", worker: ""))
        var sequence: UInt64 = 0
        let deadline = ContinuousClock.now + .seconds(20)
        // The listener subscribes asynchronously: append until it hears one.
        while heard.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline {
            sequence += 1
            #expect(try await journal.append(sequence: sequence, epoch: epoch, nodeId: "a", batch: [0]))
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(heard.load(ordering: .relaxed) > 0)
    }

    /// Runs blocking work on a thread of its own (the appender blocks its caller).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

extension Result where Failure == StoreError {
    var errorCode: StoreError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
