import Testing

@testable import TetherStore

@Suite struct BucketCountsTests {
    @Test func valuesLandInTheFirstBucketWhoseBoundHoldsThem() {
        var buckets = BucketCounts(upperBounds: [10, 1, 100, 10])
        #expect(buckets.upperBounds == [1, 10, 100], "sorted, duplicates dropped")
        for value: UInt64 in [0, 1, 2, 10, 11, 100, 101, 5_000] {
            buckets.record(value)
        }
        #expect(buckets.counts == [2, 2, 2])
        #expect(buckets.cumulativeCounts == [2, 4, 6])
        #expect(buckets.count == 8, "values above the last bound count only in the total")
        #expect(buckets.sum == 5_225)
    }
}
