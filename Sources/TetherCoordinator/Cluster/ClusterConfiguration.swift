import TetherCluster

/// Cluster mode: several coordinator nodes share one PostgreSQL journal; one leads (serves
/// workers and the API), the others stand by with their own copy of the store.
/// docs/operations.md, "High availability".
public struct ClusterConfiguration: Sendable {
    /// The journal (`journal`, `--journal`, `TETHER_JOURNAL`).
    public var journal: JournalURL
    /// This node's id, unique in the cluster (`nodeId`, `--node-id`). A node that restarts with
    /// the id of the lease's holder takes the lease over at once.
    public var nodeId: String
    /// The HTTP address clients reach this node at, `host:port` (`advertise.http`): standbys
    /// redirect `/v1` requests there while this node leads.
    public var advertisedHTTP: String
    /// The worker address workers reach this node at, `host:port` (`advertise.worker`):
    /// standbys send workers there while this node leads.
    public var advertisedWorker: String
    /// How long a lease lasts without renewal, by the database's clock.
    public var leaseMilliseconds: Int64 = 3_000
    /// How often the leader renews its lease.
    public var renewIntervalMilliseconds: Int64 = 1_000
    /// How often a standby reads the journal and the lease when no notification woke it.
    public var pollIntervalMilliseconds: Int64 = 250
    /// Where the leader takes its scheduled checkpoints (`checkpoints.directory`): a directory
    /// every node can read at this same path (a shared volume), since a node whose store the
    /// trimmed journal no longer continues starts from the latest of them. nil: `checkpoints`
    /// inside the backup directory.
    public var checkpointDirectory: String?
    /// How often the leader takes a checkpoint (`checkpoints.intervalSeconds`); 0 takes none,
    /// and the journal is never trimmed.
    public var checkpointIntervalMilliseconds: Int64 = 600_000
    /// How many checkpoints the leader keeps (`checkpoints.keep`); the journal is trimmed
    /// below the oldest of them.
    public var checkpointKeep = 3

    public init(journal: JournalURL, nodeId: String, advertisedHTTP: String, advertisedWorker: String) {
        self.journal = journal
        self.nodeId = nodeId
        self.advertisedHTTP = advertisedHTTP
        self.advertisedWorker = advertisedWorker
    }
}
