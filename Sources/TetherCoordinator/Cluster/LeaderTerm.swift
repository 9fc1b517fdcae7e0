import TetherCluster
import TetherStore

/// What a coordinator needs while it leads a cluster: the journal its commits go to first, and
/// the node's view and metrics for `/v1/cluster`, `/readyz` and `/metrics`.
struct LeaderTerm: Sendable {
    let appender: JournalAppender
    let state: ClusterNodeState
    /// None by default (a term in a test).
    var checkpoints = CheckpointSchedule(directory: "", intervalMilliseconds: 0, keep: 1)

    /// The journal, and this node's id in it.
    var journal: PostgresJournal { appender.journal }
    var nodeId: String { appender.nodeId }

    /// When and where the leader takes checkpoints, and how many it keeps.
    struct CheckpointSchedule: Sendable {
        var directory: String
        /// 0: none.
        var intervalMilliseconds: Int64
        var keep: Int
    }

    /// Whether this node may still acknowledge anything: its appender has not failed or been
    /// fenced, and its lease has not run out by its own clock.
    var isLeading: Bool {
        appender.mayAppend() && state.current.role == .leader
    }
}
