import NIOPosix
import TetherStore

/// Applies the journal to a node's own store: a standby's catching up, and a new leader's last
/// reads before it serves.
public struct JournalTailer: Sendable {
    public let journal: PostgresJournal
    public let db: RocksDB
    /// Where the blocking RocksDB writes run (never the cooperative pool).
    public let threadPool: NIOThreadPool
    /// Entries read per statement.
    public var pageSize = 500

    public init(journal: PostgresJournal, db: RocksDB, threadPool: NIOThreadPool) {
        self.journal = journal
        self.db = db
        self.threadPool = threadPool
    }

    /// The sequence of the last entry the store holds.
    public func appliedSequence() async throws -> UInt64 {
        let db = self.db
        return try await threadPool.runIfActive { try db.journalSequence() }
    }

    /// Applies every entry after the store's last, until the journal has no more; returns the
    /// last applied sequence. Throws `journalTrimmed` when the next entry was trimmed (below a
    /// checkpoint this store predates), `journalMismatch` when the store is ahead of the journal.
    @discardableResult
    public func catchUp() async throws -> UInt64 {
        var applied = try await appliedSequence()
        while true {
            let entries = try await journal.entries(after: applied, limit: pageSize)
            guard let first = entries.first else {
                let bounds = try await journal.bounds()
                if applied > bounds.last {
                    throw ClusterError(
                        .journalMismatch,
                        "this node's store holds journal entries up to \(applied), but the journal ends at \(bounds.last): "
                            + "the journal was rolled back or replaced; start this node from a fresh data directory")
                }
                return applied
            }
            guard first.sequence == applied + 1 else {
                throw ClusterError(
                    .journalTrimmed,
                    "this node's store ends at journal entry \(applied) but the journal continues at \(first.sequence) "
                        + "(trimmed below a checkpoint): the node starts from the latest checkpoint")
            }
            let db = self.db
            let start = applied
            applied = try await threadPool.runIfActive {
                var last = start
                for entry in entries {
                    guard entry.sequence == last + 1 else {
                        throw ClusterError(.journalMismatch, "journal entry \(last + 1) is missing (found \(entry.sequence))")
                    }
                    try db.applyJournalEntry(sequence: entry.sequence, batch: entry.batch, sync: false)
                    last = entry.sequence
                }
                return last
            }
        }
    }
}
