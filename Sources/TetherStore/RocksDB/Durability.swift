/// How hard a commit waits for the disk before it is acknowledged (docs/operations.md, "Durability").
///
/// Both levels write every change to RocksDB's write-ahead log before it is acknowledged;
/// they differ in whether the log is fsync'd.
public enum Durability: String, Sendable, CaseIterable {
    /// The WAL is fsync'd on each commit: an acknowledged change survives a power loss.
    ///
    /// With group commit, many concurrent changes share one fsync.
    case strict

    /// The WAL is written but not fsync'd: an acknowledged change survives a process crash
    /// (`kill -9`), not a power loss or a kernel crash.
    case relaxed

    /// Whether a commit at this level asks RocksDB to fsync the WAL.
    public var syncsWAL: Bool { self == .strict }
}
