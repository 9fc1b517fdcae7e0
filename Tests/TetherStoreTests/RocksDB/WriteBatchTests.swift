import Testing

@testable import TetherStore

@Suite struct WriteBatchTests {
    @Test func countsOperationsAndBytes() {
        var batch = WriteBatch()
        #expect(batch.isEmpty)
        #expect(batch.count == 0)
        #expect(batch.byteCount == 0)

        batch.put([1, 2], [3, 4, 5])
        batch.delete([6])
        batch.deleteRange(from: [7], to: [8, 9])
        #expect(!batch.isEmpty)
        #expect(batch.count == 3)
        #expect(batch.byteCount == 5 + 1 + 3)
        #expect(
            batch.operations == [
                .put(key: [1, 2], value: [3, 4, 5]), .delete(key: [6]), .deleteRange(from: [7], to: [8, 9]),
            ]
        )
    }

    @Test func appendKeepsOrder() {
        var first = WriteBatch()
        first.put([1], [1])
        var second = WriteBatch()
        second.delete([1])
        second.put([2], [2, 2])

        first.append(contentsOf: second)
        #expect(first.count == 3)
        #expect(first.byteCount == 2 + 1 + 3)
        #expect(first.operations == [.put(key: [1], value: [1]), .delete(key: [1]), .put(key: [2], value: [2, 2])])

        first.removeAll()
        #expect(first.isEmpty)
        #expect(first.byteCount == 0)
    }
}
