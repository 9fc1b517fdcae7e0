/// Counters of a ``GroupCommitWriter``, for metrics; read with ``GroupCommitWriter/statistics``.
///
/// All counts are totals since the writer started. `batches / commits` is the average
/// group size: how many submitted changes shared one RocksDB write (and, when strict, one fsync).
public struct GroupCommitStatistics: Sendable, Equatable {
    /// RocksDB writes made (one per merged group, failed ones included).
    public var commits: Int = 0
    /// Commits that failed; every batch in them failed with the same error.
    public var failedCommits: Int = 0
    /// Batches submitted and written (or failed) so far.
    public var batches: Int = 0
    /// Key and value bytes written (``WriteBatch/byteCount`` summed).
    public var bytes: Int = 0
    /// Commits that fsync'd the WAL (all commits in `strict` mode, none in `relaxed`).
    public var fsyncs: Int = 0
    /// The largest number of batches merged into one commit.
    public var maxBatchesPerCommit: Int = 0
    /// Wall time of the most recent commit (the RocksDB write, including its fsync).
    public var lastCommitNanoseconds: UInt64 = 0
    /// Wall time of all commits together; divide by `commits` for the mean.
    public var totalCommitNanoseconds: UInt64 = 0
    /// Wall time of each commit (the RocksDB write, including its fsync when strict), failed
    /// ones included, from 100 µs to 2.5 s.
    public var commitNanoseconds = BucketCounts(upperBounds: Self.commitNanosecondBounds)
    /// Batches merged into each commit (the group size), from 1 to 4096 in powers of two.
    public var batchesPerCommit = BucketCounts(upperBounds: Self.batchesPerCommitBounds)

    /// The bounds of ``commitNanoseconds``.
    public static let commitNanosecondBounds: [UInt64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
        250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000,
    ]
    /// The bounds of ``batchesPerCommit``.
    public static let batchesPerCommitBounds: [UInt64] = (0...12).map { 1 << $0 }

    /// Creates zeroed statistics.
    public init() {}
}
