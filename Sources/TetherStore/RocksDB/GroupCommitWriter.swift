import CRocksDB
import Foundation

/// Commits many concurrent callers' write batches together: one RocksDB write, one fsync.
///
/// Callers ``submit(_:completion:)`` a ``WriteBatch`` from any thread (a NIO event loop
/// included; submitting never blocks on I/O). One dedicated background thread takes
/// everything pending, merges it into a single RocksDB write batch in submission order,
/// writes it once (fsyncing the WAL when ``durability`` is ``Durability/strict``), then
/// completes every submitter in submission order. While one commit waits for its fsync, the
/// next group accumulates, so N concurrent changes share one fsync (docs/operations.md, "Durability").
///
/// A merged commit is bounded (``maxCommitBytes``, ``maxCommitBatches``) to keep latency
/// bounded under load. If a commit fails, every batch in it fails with the same
/// ``StoreError``; the writer keeps running, so a later commit may succeed. Note that after a
/// failed WAL write RocksDB refuses every later write until the database is reopened: free
/// the space, then call ``RocksDB/reopen()`` (the writer carries on with the reopened database).
///
/// Completions run on the writer thread, one after another: keep them short and never block
/// in them; hop to your own executor or event loop if you need to do more.
///
/// With a ``CommitJournal`` (cluster mode), each merged commit is first appended to the journal;
/// only then is it written locally, with the journal's sequence, and never fsync'd (the journal
/// is the durable copy: a node that lost its last local writes replays them from it).
public final class GroupCommitWriter: Sendable {
    /// The default bound on the key and value bytes merged into one commit.
    public static let defaultMaxCommitBytes = 4 * 1024 * 1024
    /// The default bound on the batches merged into one commit.
    public static let defaultMaxCommitBatches = 4_096

    /// Whether commits fsync the WAL.
    public let durability: Durability
    /// Most key and value bytes merged into one commit; a single larger batch commits alone.
    public let maxCommitBytes: Int
    /// Most batches merged into one commit.
    public let maxCommitBatches: Int
    /// Where each commit goes before the local database, in cluster mode.
    public let journal: (any CommitJournal)?

    private let core: GroupCommitCore

    /// Starts the writer thread for `db`.
    ///
    /// - Parameters:
    ///   - db: The database to write to; the writer keeps it alive but never closes it.
    ///   - durability: `strict` fsyncs the WAL on each commit, `relaxed` does not.
    ///   - maxCommitBytes: Stop merging a group once it holds this many key and value bytes.
    ///   - maxCommitBatches: Stop merging a group once it holds this many batches.
    ///   - journal: Cluster mode: the journal every commit is appended to first.
    public init(
        db: RocksDB,
        durability: Durability,
        maxCommitBytes: Int = GroupCommitWriter.defaultMaxCommitBytes,
        maxCommitBatches: Int = GroupCommitWriter.defaultMaxCommitBatches,
        journal: (any CommitJournal)? = nil
    ) {
        self.durability = durability
        self.maxCommitBytes = max(maxCommitBytes, 1)
        self.maxCommitBatches = max(maxCommitBatches, 1)
        self.journal = journal
        let core = GroupCommitCore(
            db: db,
            sync: journal == nil && durability.syncsWAL,
            journal: journal,
            maxCommitBytes: self.maxCommitBytes,
            maxCommitBatches: self.maxCommitBatches
        )
        self.core = core
        let thread = Thread { core.run() }
        thread.name = "tether-group-commit"
        thread.start()
    }

    deinit {
        core.shutdown()
    }

    /// Queues `batch` for the next commit and returns at once.
    ///
    /// `completion` is called exactly once: on the writer thread after the commit holding
    /// `batch` was written (or failed), in submission order; or, if the writer has been shut
    /// down, at once on the calling thread with code `closed`.
    public func submit(_ batch: WriteBatch, completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        core.submit(batch, completion: completion)
    }

    /// Submits `batch` and waits until it is committed.
    ///
    /// Cancelling the task does not withdraw the batch: it is still written.
    public func write(_ batch: WriteBatch) async throws(StoreError) {
        let result: Result<Void, StoreError> = await withCheckedContinuation { continuation in
            submit(batch) { continuation.resume(returning: $0) }
        }
        try result.get()
    }

    /// Writes everything already submitted, then stops the writer thread.
    ///
    /// Later submits fail with code `closed`. Idempotent; returns once the thread has stopped,
    /// except when called from a completion (on the writer thread), where it only asks the
    /// thread to stop after the pending work. Also called on deinit.
    public func shutdown() {
        core.shutdown()
    }

    /// The writer's counters so far.
    public var statistics: GroupCommitStatistics {
        core.statistics.withLock { $0 }
    }
}

/// The state and the thread loop of a ``GroupCommitWriter``; the thread holds this, not the
/// writer, so dropping the last reference to the writer shuts it down.
private final class GroupCommitCore: Sendable {
    struct Submission: Sendable {
        var batch: WriteBatch
        var completion: @Sendable (Result<Void, StoreError>) -> Void
    }

    struct State: Sendable {
        enum Phase: Sendable { case running, stopping, stopped }
        var phase: Phase = .running
        var queue: [Submission] = []
        var queuedBytes = 0
        /// The writer thread, once it runs.
        var writerThread: ObjectIdentifier?
    }

    let db: RocksDB
    let sync: Bool
    let journal: (any CommitJournal)?
    let maxCommitBytes: Int
    let maxCommitBatches: Int
    let state = ConditionLock(State())
    let statistics = ConditionLock(GroupCommitStatistics())
    /// Journal mode: the first failed commit, after which every commit fails. Writer thread only.
    nonisolated(unsafe) private var journalFailure: StoreError?

    init(db: RocksDB, sync: Bool, journal: (any CommitJournal)?, maxCommitBytes: Int, maxCommitBatches: Int) {
        self.db = db
        self.sync = sync
        self.journal = journal
        self.maxCommitBytes = maxCommitBytes
        self.maxCommitBatches = maxCommitBatches
    }

    func submit(_ batch: WriteBatch, completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        let accepted = state.withLockWaking { state, wake in
            guard state.phase == .running else { return false }
            // The writer only waits while the queue is empty.
            wake = state.queue.isEmpty
            state.queue.append(Submission(batch: batch, completion: completion))
            state.queuedBytes += batch.byteCount
            return true
        }
        if !accepted {
            completion(.failure(StoreError.closed("the group-commit writer")))
        }
    }

    func shutdown() {
        let current = Self.currentThread()
        let onWriterThread = state.withLockWaking { state, wake in
            if state.phase == .running {
                state.phase = .stopping
                wake = true
            }
            return state.writerThread == current
        }
        if !onWriterThread {
            state.withLock(waitingUntil: { $0.phase == .stopped }) { _ in }
        }
    }

    /// The writer thread's loop: take a group, commit it, complete it; until stopped and drained.
    func run() {
        let current = Self.currentThread()
        state.withLock { $0.writerThread = current }
        let raw = rocksdb_writebatch_create()!
        defer { rocksdb_writebatch_destroy(raw) }
        while let group = nextGroup() {
            commit(group, using: raw)
        }
        state.withLockWaking { state, wake in
            state.phase = .stopped
            wake = true
        }
    }

    /// Waits for work and takes the next group, oldest first; nil once stopping and drained.
    private func nextGroup() -> [Submission]? {
        state.withLock(waitingUntil: { !$0.queue.isEmpty || $0.phase != .running }) { state in
            guard !state.queue.isEmpty else { return nil }
            if state.queue.count <= maxCommitBatches && state.queuedBytes <= maxCommitBytes {
                let group = state.queue
                state.queue = []
                state.queuedBytes = 0
                return group
            }
            var taken = 0
            var bytes = 0
            while taken < state.queue.count && taken < maxCommitBatches {
                let next = state.queue[taken].batch.byteCount
                // Always take at least one batch, however large.
                if taken > 0 && bytes + next > maxCommitBytes { break }
                bytes += next
                taken += 1
            }
            let group = Array(state.queue[..<taken])
            state.queue.removeFirst(taken)
            state.queuedBytes -= bytes
            return group
        }
    }

    /// Writes `group` as one RocksDB write and completes its submitters in order.
    private func commit(_ group: [Submission], using raw: OpaquePointer) {
        rocksdb_writebatch_clear(raw)
        var bytes = 0
        for submission in group {
            submission.batch.apply(to: raw)
            bytes += submission.batch.byteCount
        }
        let result: Result<Void, StoreError>
        var elapsed: UInt64?
        if let journalFailure {
            // Journal mode: after one failure the local store may lack an entry the journal
            // holds, so nothing more is written until the node reads the journal back.
            result = .failure(journalFailure)
        } else if rocksdb_writebatch_count(raw) == 0 {
            // Nothing to write (only empty batches), but a closed database still says so.
            result = db.isClosed ? .failure(StoreError.closed("the database at \(db.path)")) : .success(())
        } else {
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                if let journal {
                    let sequence = try journal.append(RocksDB.serializedBytes(of: raw))
                    RocksDB.recordJournalSequence(sequence, in: raw)
                }
                try db.write(raw: raw, byteCount: bytes, sync: sync)
                result = .success(())
            } catch {
                result = .failure(error)
                if journal != nil { journalFailure = error }
            }
            elapsed = DispatchTime.now().uptimeNanoseconds &- start
        }
        statistics.withLock { statistics in
            statistics.batches += group.count
            statistics.maxBatchesPerCommit = max(statistics.maxBatchesPerCommit, group.count)
            guard let elapsed else { return }
            statistics.commits += 1
            if case .failure = result {
                statistics.failedCommits += 1
            } else if sync {
                statistics.fsyncs += 1
            }
            statistics.bytes += bytes
            statistics.lastCommitNanoseconds = elapsed
            statistics.totalCommitNanoseconds &+= elapsed
            statistics.commitNanoseconds.record(elapsed)
            statistics.batchesPerCommit.record(UInt64(group.count))
        }
        for submission in group {
            submission.completion(result)
        }
    }

    private static func currentThread() -> ObjectIdentifier {
        ObjectIdentifier(Thread.current)
    }
}
