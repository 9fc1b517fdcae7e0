import Foundation
import Testing

@testable import TetherStore

/// Expects `call` to throw a ``StoreError`` with code `closed`.
func expectClosed(sourceLocation: SourceLocation = #_sourceLocation, _ call: () throws -> Void) {
    let error = #expect(throws: StoreError.self, sourceLocation: sourceLocation) { try call() }
    #expect(error?.code.rawValue == "closed", sourceLocation: sourceLocation)
}

@Suite struct RocksDBTests {
    @Test func putGetDeleteRoundTrip() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }

            #expect(try db.get(bytes("missing")) == nil)
            try db.put(bytes("run/1"), bytes("queued"), sync: true)
            #expect(try db.get(bytes("run/1")) == bytes("queued"))
            try db.put(bytes("run/1"), bytes("running"), sync: false)
            #expect(try db.get(bytes("run/1")) == bytes("running"))
            try db.delete(bytes("run/1"), sync: true)
            #expect(try db.get(bytes("run/1")) == nil)
            try db.delete(bytes("never-there"), sync: false)
        }
    }

    @Test func emptyKeysAndValuesAndBinaryBytes() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }

            try db.put(bytes("empty-value"), [], sync: false)
            #expect(try db.get(bytes("empty-value")) == [])
            try db.put([], [1], sync: false)
            #expect(try db.get([]) == [1])
            let binary: [UInt8] = [0x00, 0xFF, 0x00, 0x80]
            try db.put(binary, binary.reversed(), sync: false)
            #expect(try db.get(binary) == binary.reversed())
            let large = [UInt8](repeating: 0xAB, count: 1 << 20)
            try db.put(bytes("large"), large, sync: false)
            #expect(try db.get(bytes("large")) == large)
        }
    }

    @Test func writeBatchAppliesEveryOperation() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            try db.put(bytes("old"), bytes("x"), sync: false)
            for index in 0..<5 {
                try db.put(bytes("range/\(index)"), bytes("x"), sync: false)
            }

            var batch = WriteBatch()
            for index in 0..<100 {
                batch.put(bytes("key/\(index)"), bytes("value/\(index)"))
            }
            batch.delete(bytes("old"))
            batch.deleteRange(from: bytes("range/1"), to: bytes("range/4"))
            batch.put(bytes("key/7"), bytes("overwritten"))
            try db.write(batch, sync: true)

            for index in 0..<100 where index != 7 {
                #expect(try db.get(bytes("key/\(index)")) == bytes("value/\(index)"))
            }
            #expect(try db.get(bytes("key/7")) == bytes("overwritten"))
            #expect(try db.get(bytes("old")) == nil)
            #expect(try db.scan(prefix: bytes("range/")).map(\.key) == [bytes("range/0"), bytes("range/4")])
            try db.write(WriteBatch(), sync: true)
        }
    }

    @Test(arguments: [true, false])
    func dataSurvivesReopening(sync: Bool) throws {
        try withTemporaryDirectory { path in
            do {
                let db = try RocksDB(path: path)
                var batch = WriteBatch()
                batch.put(bytes("a"), bytes("1"))
                batch.put(bytes("b"), bytes("2"))
                try db.write(batch, sync: sync)
                try db.put(bytes("c"), bytes("3"), sync: sync)
                db.close()
            }
            let reopened = try RocksDB(path: path)
            defer { reopened.close() }
            #expect(try reopened.get(bytes("a")) == bytes("1"))
            #expect(try reopened.get(bytes("b")) == bytes("2"))
            #expect(try reopened.get(bytes("c")) == bytes("3"))
        }
    }

    @Test func createsMissingParentDirectories() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path + "/data/db")
            defer { db.close() }
            try db.put([1], [2], sync: false)
            #expect(FileManager.default.fileExists(atPath: path + "/data/db/CURRENT"))
        }
    }

    @Test func openingAnOpenDirectoryAgainIsBusy() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            let error = #expect(throws: StoreError.self) { try RocksDB(path: path) }
            #expect(error?.code.rawValue == "busy")
            #expect(error?.message.contains("in use by another process") == true)

            // Closing releases the lock.
            db.close()
            let again = try RocksDB(path: path)
            again.close()
        }
    }

    @Test func openingAMissingDatabaseWithoutCreateFails() throws {
        try withTemporaryDirectory { path in
            var options = RocksDB.Options()
            options.createIfMissing = false
            // An empty directory holds no database.
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let empty = #expect(throws: StoreError.self) { try RocksDB(path: path, options: options) }
            #expect(empty?.code.rawValue == "invalid_argument")
            #expect(empty?.message.contains("does not exist") == true)
            // Nor does a missing one, whose parent RocksDB cannot create.
            let missing = #expect(throws: StoreError.self) { try RocksDB(path: path + "/a/b", options: options) }
            #expect(missing?.code.rawValue == "io_error")
        }
    }

    @Test func everyCallAfterCloseThrowsClosed() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            try db.put([1], [1], sync: false)
            #expect(!db.isClosed)
            db.close()
            db.close()
            #expect(db.isClosed)

            expectClosed { _ = try db.get([1]) }
            expectClosed { try db.put([1], [2], sync: true) }
            expectClosed { try db.delete([1], sync: false) }
            expectClosed { try db.write(WriteBatch(), sync: true) }
            expectClosed { _ = try db.scan(prefix: []) }
            expectClosed { _ = try db.scan(prefix: [], limit: 0) }
            expectClosed { try db.createCheckpoint(at: path + "-checkpoint") }
            expectClosed { try db.flush() }
            expectClosed { try db.syncWAL() }
            expectClosed { try db.forEach(prefix: []) { _, _ in true } }
            #expect(db.property("rocksdb.estimate-num-keys") == nil)
        }
    }

    @Test func closeWaitsForCallsInProgressOnOtherThreads() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            let threadCount = 4
            let warmedUp = Recorder<Int>()
            let outcomes = Recorder<String>()
            for thread in 0..<threadCount {
                Thread {
                    var outcome = "finished"
                    for index in 0..<1_000_000 {
                        do {
                            try db.put(bytes("\(thread)/\(index % 100)"), [UInt8(index & 0xFF)], sync: false)
                            _ = try db.get(bytes("\(thread)/\(index % 100)"))
                            _ = try db.scan(prefix: bytes("\(thread)/"), limit: 5)
                        } catch {
                            outcome = (error as? StoreError)?.code.rawValue ?? "\(error)"
                            break
                        }
                        if index == 50 { warmedUp.append(thread) }
                    }
                    outcomes.append(outcome)
                }.start()
            }
            _ = warmedUp.wait(forCount: threadCount)
            db.close()
            let results = outcomes.wait(forCount: threadCount)
            #expect(results == Array(repeating: "closed", count: threadCount))
        }
    }

    @Test func checkpointIsAnOpenableCopy() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path + "/db")
            defer { db.close() }
            for index in 0..<1_000 {
                try db.put(bytes("key/\(index)"), bytes("value/\(index)"), sync: false)
            }
            try db.createCheckpoint(at: path + "/backups/one")
            try db.put(bytes("after"), bytes("checkpoint"), sync: false)

            let copy = try RocksDB(path: path + "/backups/one")
            defer { copy.close() }
            #expect(try copy.get(bytes("key/999")) == bytes("value/999"))
            #expect(try copy.scan(prefix: bytes("key/")).count == 1_000)
            #expect(try copy.get(bytes("after")) == nil)

            let error = #expect(throws: StoreError.self) { try db.createCheckpoint(at: path + "/backups/one") }
            #expect(error?.code.rawValue == "invalid_argument")
        }
    }

    @Test func readOnlyOpenReadsVerifiesAndChangesNothing() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            for index in 0..<1_000 {
                try db.put(bytes("key/\(index)"), bytes("value/\(index)"), sync: false)
            }
            try db.flush()
            try db.put(bytes("in-the-wal"), bytes("only"), sync: true)
            #expect(try db.verifyChecksums() == 1_001)
            let files = try FileManager.default.contentsOfDirectory(atPath: path).sorted()

            // Beside the writer: read-only takes no lock, and replays the WAL in memory.
            var options = RocksDB.Options()
            options.readOnly = true
            let reader = try RocksDB(path: path, options: options)
            #expect(try reader.get(bytes("key/999")) == bytes("value/999"))
            #expect(try reader.get(bytes("in-the-wal")) == bytes("only"))
            #expect(try reader.verifyChecksums() == 1_001)
            let refused = #expect(throws: StoreError.self) { try reader.put(bytes("k"), bytes("v"), sync: false) }
            #expect(refused?.code.rawValue == "invalid_argument")
            reader.close()
            #expect(try FileManager.default.contentsOfDirectory(atPath: path).sorted() == files)

            var missing = options
            missing.createIfMissing = true
            let error = #expect(throws: StoreError.self) { try RocksDB(path: path + "/nothing-here", options: missing) }
            #expect(error != nil)
            #expect(!FileManager.default.fileExists(atPath: path + "/nothing-here"))
        }
    }

    @Test func flushPropertiesAndStatistics() throws {
        try withTemporaryDirectory { path in
            var options = RocksDB.Options()
            options.enableStatistics = true
            let db = try RocksDB(path: path, options: options)
            defer { db.close() }
            for index in 0..<500 {
                try db.put(bytes("key/\(index)"), bytes("value/\(index)"), sync: false)
            }
            try db.flush()
            try db.syncWAL()
            #expect(try db.get(bytes("key/42")) == bytes("value/42"))
            let estimate = db.property("rocksdb.estimate-num-keys").flatMap { Int($0) }
            #expect(estimate != nil && estimate! > 0)
            #expect(db.property("rocksdb.num-files-at-level0") == "1")
            #expect(db.property("rocksdb.no-such-property") == nil)
            #expect(db.statisticsReport()?.contains("rocksdb.block.cache") == true)
        }
    }

    @Test(arguments: RocksDB.Compression.allCases)
    func everyOfferedCompressionIsCompiledIn(compression: RocksDB.Compression) throws {
        try withTemporaryDirectory { path in
            var options = RocksDB.Options()
            options.compression = compression
            options.bottommostCompression = compression
            let db = try RocksDB(path: path, options: options)
            defer { db.close() }
            let value = [UInt8](repeating: 7, count: 10_000)
            for index in 0..<50 {
                try db.put(bytes("key/\(index)"), value, sync: false)
            }
            try db.flush()
            #expect(try db.get(bytes("key/49")) == value)
        }
    }
}
