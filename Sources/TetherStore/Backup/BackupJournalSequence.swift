/// Where a backup's ``BackupManifest/journalSequence`` comes from.
///
/// In cluster mode the store applies a replicated journal, and a node restored from a backup
/// replays the journal after the last entry the backup contains. That number must describe the
/// checkpoint itself, not the live store a moment later, while writes go on: ``read(_:)`` reads
/// it from the checkpoint (the cluster mode keeps it under a `meta` key, written in the same
/// batch as each entry it applies).
public enum BackupJournalSequence: Sendable {
    /// No journal (single-node mode): the manifest says `null`.
    case none
    /// A number the caller knows the checkpoint contains exactly (it stopped applying entries
    /// while the checkpoint was taken).
    case known(UInt64)
    /// Read from the checkpoint, opened read-only, before the backup is published; nil when
    /// the checkpoint holds none.
    case read(@Sendable (RocksDB) throws(StoreError) -> UInt64?)
}
