/// What `GET /v1/cluster` shows of a node: its role, the leader it knows of, and how far its
/// store is behind the journal.
public struct ClusterView: Sendable, Equatable {
    public enum Role: String, Sendable {
        /// Holds the lease: serves workers and the API.
        case leader
        /// Tails the journal and waits to take over.
        case standby
        /// No journal: a single node on its own RocksDB.
        case single
    }

    /// A node's advertised addresses.
    public struct Node: Sendable, Equatable {
        public var nodeId: String
        /// The HTTP API, as `host:port`.
        public var http: String
        /// The worker listener, as `host:port`.
        public var worker: String

        public init(nodeId: String, http: String, worker: String) {
            self.nodeId = nodeId
            self.http = http
            self.worker = worker
        }
    }

    /// How far this node's store is behind the journal.
    public struct Journal: Sendable, Equatable {
        /// The last sequence in the journal, as this node last saw it.
        public var lastSequence: UInt64
        /// The last sequence applied to this node's store.
        public var appliedSequence: UInt64
        /// For how long the store has been behind (0 when it is not).
        public var lagMilliseconds: Int64

        public init(lastSequence: UInt64, appliedSequence: UInt64, lagMilliseconds: Int64) {
            self.lastSequence = lastSequence
            self.appliedSequence = appliedSequence
            self.lagMilliseconds = lagMilliseconds
        }
    }

    public var role: Role
    public var nodeId: String
    /// The lease epoch this node leads with, or the last it saw.
    public var epoch: UInt64
    /// The current leader, when one is known.
    public var leader: Node?
    /// Nil for a single node.
    public var journal: Journal?

    public init(role: Role, nodeId: String, epoch: UInt64, leader: Node?, journal: Journal?) {
        self.role = role
        self.nodeId = nodeId
        self.epoch = epoch
        self.leader = leader
        self.journal = journal
    }
}
