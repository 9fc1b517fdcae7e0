import Synchronization
import TetherCluster

/// A cluster node's role and progress, shared by its role loop (the writer) and its HTTP
/// routes (`/v1/cluster`, `/readyz`, `/metrics`), behind one lock.
final class ClusterNodeState: Sendable {
    struct Values: Sendable {
        var role: ClusterView.Role = .standby
        var epoch: UInt64 = 0
        var leader: ClusterView.Node?
        var lastSequence: UInt64 = 0
        var appliedSequence: UInt64 = 0
        /// When the store was first seen behind the journal (monotonic ns), while it is.
        var behindSince: UInt64?
        /// Times this node took the lease.
        var terms = 0
        var renewals = 0
        var failedRenewals = 0
        /// Terms that ended, by reason.
        var stepDowns: [String: Int] = [:]
        /// The appender of the current term, while leading (its counters feed `/metrics`).
        var appender: JournalAppender?
        /// Journal statistics of terms that ended, so the counters never go back.
        var pastAppends = JournalStatistics()
        /// Checkpoints this node took as leader, and those that failed.
        var checkpoints = 0
        var failedCheckpoints = 0
        /// The journal sequence of the last checkpoint this node took.
        var lastCheckpointSequence: UInt64 = 0
        /// Journal entries this node trimmed as leader.
        var trimmedEntries = 0
        /// Times this node started its store from a checkpoint (it was new, or the journal no
        /// longer continued its store).
        var bootstraps = 0
    }

    let nodeId: String
    private let values = Mutex(Values())

    init(nodeId: String) {
        self.nodeId = nodeId
    }

    func update(_ body: (inout Values) -> Void) {
        values.withLock { body(&$0) }
    }

    var current: Values { values.withLock { $0 } }

    /// Records how far the store got and how far the journal goes.
    func progress(applied: UInt64, last: UInt64, now: UInt64) {
        values.withLock { values in
            values.appliedSequence = applied
            values.lastSequence = max(last, applied)
            if values.lastSequence > applied {
                if values.behindSince == nil { values.behindSince = now }
            } else {
                values.behindSince = nil
            }
        }
    }

    /// What `GET /v1/cluster` answers.
    func view(now: UInt64 = JournalAppender.monotonicNanoseconds()) -> ClusterView {
        values.withLock { values in
            var applied = values.appliedSequence
            var last = values.lastSequence
            if values.role == .leader, let appender = values.appender {
                // The leader applies each entry as it appends it.
                applied = appender.nextSequence - 1
                last = applied
            }
            let lag = values.behindSince.map { Int64((now &- $0) / 1_000_000) } ?? 0
            return ClusterView(
                role: values.role, nodeId: nodeId, epoch: values.epoch, leader: values.leader,
                journal: .init(lastSequence: last, appliedSequence: applied, lagMilliseconds: lag))
        }
    }

    /// The journal counters of every term so far.
    var appendStatistics: JournalStatistics {
        values.withLock { values in
            guard let current = values.appender?.statistics else { return values.pastAppends }
            return values.pastAppends.adding(current)
        }
    }
}

extension JournalStatistics {
    /// The sum of two terms' counters.
    func adding(_ other: JournalStatistics) -> JournalStatistics {
        var sum = self
        sum.appends += other.appends
        sum.failedAppends += other.failedAppends
        sum.bytes += other.bytes
        sum.appendNanoseconds.add(other.appendNanoseconds)
        sum.appendBytes.add(other.appendBytes)
        return sum
    }
}
