import Testing

@testable import TetherStore

@Suite struct RocksDBIterationTests {
    /// Keys chosen to sit on prefix boundaries: 0xFF bytes, a prefix of another key, the
    /// successor of a prefix.
    static let keys: [[UInt8]] = [
        [0x00], [0x00, 0xFF],
        [0x01], [0x01, 0x00], [0x01, 0x01], [0x01, 0x80], [0x01, 0xFF], [0x01, 0xFF, 0x00], [0x01, 0xFF, 0xFF],
        [0x02], [0x02, 0x00],
        [0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF],
        Array("a".utf8), Array("ab".utf8), Array("abc".utf8), Array("abd".utf8), Array("ac".utf8), Array("b".utf8),
    ]

    /// Runs `body` against a database holding ``keys`` (each key's value is the key reversed).
    func withPopulatedDatabase(_ body: (RocksDB) throws -> Void) throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            var batch = WriteBatch()
            for key in Self.keys.shuffled() {
                batch.put(key, key.reversed())
            }
            try db.write(batch, sync: false)
            try body(db)
        }
    }

    /// ``keys`` in byte order.
    static let sortedKeys = keys.sorted { $0.lexicographicallyPrecedes($1) }

    /// What a scan must return, computed from keys already in byte order.
    static func expected(
        _ sortedKeys: [[UInt8]],
        prefix: [UInt8],
        after: [UInt8]? = nil,
        reverse: Bool = false,
        limit: Int = .max
    ) -> [[UInt8]] {
        var result = sortedKeys.filter { $0.starts(with: prefix) }
        if reverse { result.reverse() }
        if let after {
            result = result.filter {
                reverse ? $0.lexicographicallyPrecedes(after) : after.lexicographicallyPrecedes($0)
            }
        }
        return Array(result.prefix(limit))
    }

    @Test func forwardAndReverseWithinPrefixBoundaries() throws {
        try withPopulatedDatabase { db in
            let cases: [([UInt8], [[UInt8]])] = [
                (
                    [0x01],
                    [
                        [0x01], [0x01, 0x00], [0x01, 0x01], [0x01, 0x80], [0x01, 0xFF], [0x01, 0xFF, 0x00],
                        [0x01, 0xFF, 0xFF],
                    ]
                ),
                ([0x01, 0xFF], [[0x01, 0xFF], [0x01, 0xFF, 0x00], [0x01, 0xFF, 0xFF]]),
                ([0x01, 0xFF, 0xFF], [[0x01, 0xFF, 0xFF]]),
                ([0xFF], [[0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF]]),
                ([0xFF, 0xFF], [[0xFF, 0xFF], [0xFF, 0xFF, 0xFF]]),
                (Array("ab".utf8), [Array("ab".utf8), Array("abc".utf8), Array("abd".utf8)]),
                (Array("abc".utf8), [Array("abc".utf8)]),
                ([0x03], []),
                ([0x01, 0x02], []),
            ]
            for (prefix, keys) in cases {
                let forward = try db.scan(prefix: prefix)
                #expect(forward.map(\.key) == keys, "prefix \(prefix)")
                #expect(forward.map(\.value) == keys.map { $0.reversed() }, "prefix \(prefix)")
                #expect(try db.scan(prefix: prefix, reverse: true).map(\.key) == keys.reversed(), "prefix \(prefix)")
            }
            let all = Self.sortedKeys
            #expect(try db.scan(prefix: []).map(\.key) == all)
            #expect(try db.scan(prefix: [], reverse: true).map(\.key) == all.reversed())
        }
    }

    @Test func afterIsAnExclusiveCursor() throws {
        try withPopulatedDatabase { db in
            let prefix: [UInt8] = [0x01]
            let cursors: [[UInt8]] = [
                [0x00], [0x01], [0x01, 0x00], [0x01, 0x00, 0x05], [0x01, 0x80], [0x01, 0xFF], [0x01, 0xFF, 0xFF],
                [0x01, 0xFF, 0xFF, 0xFF], [0x02], [0x03], [],
            ]
            for after in cursors {
                for reverse in [false, true] {
                    let keys = try db.scan(prefix: prefix, after: after, reverse: reverse).map(\.key)
                    let expected = Self.expected(Self.sortedKeys, prefix: prefix, after: after, reverse: reverse)
                    #expect(keys == expected, "after \(after) reverse \(reverse)")
                }
            }
            #expect(try db.scan(prefix: [0x01], after: [0x01, 0x00]).first?.key == [0x01, 0x01])
            #expect(try db.scan(prefix: [0x01], after: [0x01, 0x80], reverse: true).first?.key == [0x01, 0x01])
            #expect(try db.scan(prefix: [0x01], after: [0x02], reverse: true).first?.key == [0x01, 0xFF, 0xFF])
        }
    }

    @Test func limitPagesThroughEverything() throws {
        try withPopulatedDatabase { db in
            #expect(try db.scan(prefix: [], limit: 0).isEmpty)
            #expect(try db.scan(prefix: [0x01], limit: 2).map(\.key) == [[0x01], [0x01, 0x00]])
            for reverse in [false, true] {
                for pageSize in 1...4 {
                    var pages: [[UInt8]] = []
                    var cursor: [UInt8]?
                    while true {
                        let page = try db.scan(prefix: [0x01], after: cursor, reverse: reverse, limit: pageSize)
                        #expect(page.count <= pageSize)
                        pages += page.map(\.key)
                        guard page.count == pageSize, let last = page.last else { break }
                        cursor = last.key
                    }
                    #expect(pages == Self.expected(Self.sortedKeys, prefix: [0x01], reverse: reverse))
                }
            }
        }
    }

    @Test func forEachStopsEarlyAndRethrows() throws {
        try withPopulatedDatabase { db in
            var visited: [[UInt8]] = []
            try db.forEach(prefix: [0x01]) { key, value in
                #expect(value == key.reversed())
                visited.append(key)
                return visited.count < 3
            }
            #expect(visited == [[0x01], [0x01, 0x00], [0x01, 0x01]])

            visited = []
            try db.forEach(prefix: [0xFF], after: [0xFF, 0xFF, 0xFF], reverse: true) { key, _ in
                visited.append(key)
                return true
            }
            #expect(visited == [[0xFF, 0xFF], [0xFF, 0x00], [0xFF]])

            struct Stop: Error {}
            var count = 0
            #expect(throws: Stop.self) {
                try db.forEach(prefix: []) { _, _ in
                    count += 1
                    if count == 2 { throw Stop() }
                    return true
                }
            }
            #expect(count == 2)
        }
    }

    @Test func matchesASortedModelOnRandomKeys() throws {
        var random = SeededGenerator(state: 42)
        let alphabet: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]
        func randomKey(maxLength: Int) -> [UInt8] {
            (0..<Int.random(in: 0...maxLength, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
        }
        var keys = Set<[UInt8]>()
        while keys.count < 400 {
            keys.insert(randomKey(maxLength: 5))
        }
        let sortedKeys = keys.sorted { $0.lexicographicallyPrecedes($1) }
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            var batch = WriteBatch()
            for key in keys {
                batch.put(key, key.reversed())
            }
            try db.write(batch, sync: false)
            try db.flush()  // half of the checks read SST files, half the memtable
            for key in keys.prefix(100) {
                try db.put(key, key.reversed(), sync: false)
            }
            for _ in 0..<300 {
                let prefix = randomKey(maxLength: 2)
                let after = Bool.random(using: &random) ? randomKey(maxLength: 4) : nil
                let reverse = Bool.random(using: &random)
                let limit = Bool.random(using: &random) ? Int.random(in: 1...20, using: &random) : .max
                let scanned = try db.scan(prefix: prefix, after: after, reverse: reverse, limit: limit).map(\.key)
                let expected = Self.expected(sortedKeys, prefix: prefix, after: after, reverse: reverse, limit: limit)
                #expect(scanned == expected, "prefix \(prefix) after \(String(describing: after)) reverse \(reverse)")
            }
        }
    }

    @Test func successorOfPrefix() {
        #expect(RocksDB.successor(of: []) == nil)
        #expect(RocksDB.successor(of: [0xFF, 0xFF]) == nil)
        #expect(RocksDB.successor(of: [0x01]) == [0x02])
        #expect(RocksDB.successor(of: [0x01, 0xFF]) == [0x02])
        #expect(RocksDB.successor(of: [0x01, 0xFE, 0xFF]) == [0x01, 0xFF])
    }
}
