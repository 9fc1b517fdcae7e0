/// An error of the cluster mode, with a stable code and a message for humans.
public struct ClusterError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The stable codes; add new ones, never rename.
    public enum Code: String, Sendable {
        /// A setting is missing or wrong (the journal URL, the node id, an address).
        case invalidConfig = "invalid_config"
        /// PostgreSQL could not be reached, or a statement failed.
        case journalUnavailable = "journal_unavailable"
        /// This node does not hold the leader lease (any more).
        case fenced
        /// The journal and this node's store disagree (an entry is missing, or the store is ahead
        /// of the journal): the node cannot serve from this store.
        case journalMismatch = "journal_mismatch"
        /// The journal no longer holds the entries after this node's store (they were trimmed
        /// below a checkpoint): the node bootstraps from the latest checkpoint.
        case journalTrimmed = "journal_trimmed"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
