/// How many observations fell at or below each of a fixed list of bounds: the data of a
/// histogram, kept as plain numbers so the store needs no metrics library. The coordinator
/// renders it as a Prometheus histogram at scrape time.
public struct BucketCounts: Sendable, Equatable {
    /// Inclusive upper bounds, ascending; values above the last one only count in ``count``.
    public let upperBounds: [UInt64]
    /// Observations per bucket, not cumulative: `counts[i]` holds the values in
    /// `(upperBounds[i-1], upperBounds[i]]`.
    public private(set) var counts: [Int]
    /// Every observation, including those above the last bound.
    public private(set) var count: Int = 0
    /// The observed values added up.
    public private(set) var sum: UInt64 = 0

    /// Empty counts for `upperBounds` (sorted, duplicates dropped).
    public init(upperBounds: [UInt64]) {
        self.upperBounds = Array(Set(upperBounds)).sorted()
        self.counts = Array(repeating: 0, count: self.upperBounds.count)
    }

    /// Counts one observation of `value`.
    public mutating func record(_ value: UInt64) {
        count += 1
        sum &+= value
        // A dozen bounds: a linear scan beats a binary search here.
        if let index = upperBounds.firstIndex(where: { value <= $0 }) {
            counts[index] += 1
        }
    }

    /// Adds the observations of `other`, which has the same bounds.
    public mutating func add(_ other: BucketCounts) {
        precondition(other.upperBounds == upperBounds, "adding bucket counts of different bounds")
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        sum &+= other.sum
    }

    /// Observations at or below each bound (what Prometheus calls `le` buckets), in the order
    /// of ``upperBounds``.
    public var cumulativeCounts: [Int] {
        var total = 0
        return counts.map { count in
            total += count
            return total
        }
    }
}
