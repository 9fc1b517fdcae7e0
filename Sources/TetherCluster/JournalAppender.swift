import Dispatch
import Foundation
import Synchronization
import TetherStore

/// The leader's side of the journal for one term (one epoch): appends each group commit with
/// the next sequence, as ``CommitJournal`` asks, on the writer's thread.
///
/// It refuses to append, without asking the database, once ``fence()`` was called (the node is
/// stepping down) or once the lease may have run out by this node's own clock
/// (``leaseValidUntil``, moved forward by each renewal): a leader that cannot renew stops
/// acknowledging at once, even before the database would refuse it. After any failure every
/// later append fails too: the node must read the journal back before it writes again.
public final class JournalAppender: CommitJournal, Sendable {
    public let journal: PostgresJournal
    public let nodeId: String
    public let epoch: UInt64

    private struct State {
        var nextSequence: UInt64
        var failure: StoreError?
        /// Monotonic nanoseconds after which the lease may have run out.
        var leaseValidUntil: UInt64
    }

    private let state: Mutex<State>
    private let counters = Mutex(JournalStatistics())

    /// An appender whose first entry is `firstSequence`, with the lease valid until
    /// `leaseValidUntil` (``JournalAppender/monotonicNanoseconds()``).
    public init(journal: PostgresJournal, nodeId: String, epoch: UInt64, firstSequence: UInt64, leaseValidUntil: UInt64) {
        self.journal = journal
        self.nodeId = nodeId
        self.epoch = epoch
        self.state = Mutex(State(nextSequence: firstSequence, failure: nil, leaseValidUntil: leaseValidUntil))
    }

    /// The counters so far.
    public var statistics: JournalStatistics { counters.withLock { $0 } }

    /// The sequence the next append gets.
    public var nextSequence: UInt64 { state.withLock { $0.nextSequence } }

    /// Moves the lease's local deadline (after a renewal).
    public func extendLease(until deadline: UInt64) {
        state.withLock { $0.leaseValidUntil = max($0.leaseValidUntil, deadline) }
    }

    /// Refuses every later append: the node is no longer leader.
    public func fence(_ reason: String) {
        state.withLock { state in
            if state.failure == nil { state.failure = StoreError(code: .fenced, message: reason) }
        }
    }

    /// The failure that ended appending, if one did.
    public var failure: StoreError? { state.withLock { $0.failure } }

    /// Whether an append at `now` (``monotonicNanoseconds()``) would be tried: nothing failed or
    /// fenced this term, and its lease has not run out by this node's clock.
    public func mayAppend(at now: UInt64 = monotonicNanoseconds()) -> Bool {
        state.withLock { $0.failure == nil && now < $0.leaseValidUntil }
    }

    public func append(_ batch: [UInt8]) throws(StoreError) -> UInt64 {
        let now = Self.monotonicNanoseconds()
        let sequence: UInt64 = try state.withLock { state throws(StoreError) in
            if let failure = state.failure { throw failure }
            if now >= state.leaseValidUntil {
                let failure = StoreError(
                    code: .fenced, message: "the leader lease of epoch \(epoch) may have run out: it was not renewed in time")
                state.failure = failure
                throw failure
            }
            return state.nextSequence
        }
        let outcome =
            journal.appendWaiting(sequence: sequence, epoch: epoch, nodeId: nodeId, batch: batch)
            ?? Self.wait { [journal, nodeId, epoch] () async throws(ClusterError) -> Bool in
                try await journal.append(sequence: sequence, epoch: epoch, nodeId: nodeId, batch: batch)
            }
        let elapsed = Self.monotonicNanoseconds() &- now
        let result: Result<UInt64, StoreError>
        switch outcome {
        case .success(true):
            result = .success(sequence)
        case .success(false):
            result = .failure(
                StoreError(code: .fenced, message: "the journal refused epoch \(epoch): another node holds the leader lease"))
        case .failure(let error):
            result = .failure(StoreError(code: .journalUnavailable, message: error.message))
        }
        state.withLock { state in
            switch result {
            case .success: state.nextSequence = sequence + 1
            case .failure(let error): if state.failure == nil { state.failure = error }
            }
        }
        counters.withLock { counters in
            counters.record(bytes: batch.count, nanoseconds: elapsed, succeeded: (try? result.get()) != nil)
        }
        return try result.get()
    }

    /// Runs `body` on the cooperative pool and blocks this (non-pool) thread until it is done.
    private static func wait<T: Sendable>(
        _ body: @escaping @Sendable () async throws(ClusterError) -> T
    ) -> Result<T, ClusterError> {
        let box = Mutex<Result<T, ClusterError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<T, ClusterError>
            do throws(ClusterError) {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return box.withLock { $0! }
    }

    /// The monotonic clock the lease deadlines use, in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        DispatchTime.now().uptimeNanoseconds
    }
}

/// Counters of the journal's appends, for metrics.
public struct JournalStatistics: Sendable, Equatable {
    /// Appends that committed.
    public var appends = 0
    /// Appends that failed or were refused.
    public var failedAppends = 0
    /// Bytes of committed appends.
    public var bytes = 0
    /// Wall time of each append (the PostgreSQL round trip and commit), from 100 µs to 2.5 s.
    public var appendNanoseconds = BucketCounts(upperBounds: GroupCommitStatistics.commitNanosecondBounds)
    /// Bytes per committed append, from 64 B to 4 MiB in powers of four.
    public var appendBytes = BucketCounts(upperBounds: (3...11).map { 1 << (2 * $0) })

    public init() {}

    mutating func record(bytes: Int, nanoseconds: UInt64, succeeded: Bool) {
        appendNanoseconds.record(nanoseconds)
        if succeeded {
            appends += 1
            self.bytes += bytes
            appendBytes.record(UInt64(bytes))
        } else {
            failedAppends += 1
        }
    }
}
