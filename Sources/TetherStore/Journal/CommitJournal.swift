/// Where a journalled store makes each commit durable before it applies the commit locally
/// (cluster mode: a PostgreSQL table shared by every node).
///
/// The ``GroupCommitWriter`` calls ``append(_:)`` once per merged commit, on its own thread,
/// one call at a time, with the serialized RocksDB write batch of that commit. Only when the
/// call returns does the writer apply the batch to the local database (with the returned
/// sequence recorded under ``KeyLayout/journalSequenceKey`` in the same write) and complete
/// its submitters: nothing is acknowledged that the journal does not hold. When the call
/// throws, the commit's submitters fail with that error and nothing is written locally, so
/// the local database always holds a prefix of the journal.
public protocol CommitJournal: Sendable {
    /// Appends one commit durably and returns its sequence number, or throws: code `fenced`
    /// when this node may no longer write (it lost the leader lease), `journalUnavailable` when
    /// the journal failed or could not be reached (the outcome is then unknown: the caller
    /// must not write again before it read the journal back).
    func append(_ batch: [UInt8]) throws(StoreError) -> UInt64
}
