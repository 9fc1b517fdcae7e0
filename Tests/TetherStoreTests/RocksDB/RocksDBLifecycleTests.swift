import Foundation
import Testing

@testable import TetherStore

@Suite struct RocksDBLifecycleTests {
    @Test func reopenKeepsDataAndTheObjectUsable() async throws {
        try await withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            let writer = GroupCommitWriter(db: db, durability: .strict)
            defer { writer.shutdown() }

            try await writer.write(GroupCommitWriterTests.batch("before"))
            try db.reopen()
            #expect(!db.isClosed)
            #expect(try db.get(bytes("before")) == bytes("v"))
            // The writer carries on with the reopened database.
            try await writer.write(GroupCommitWriterTests.batch("after"))
            #expect(try db.get(bytes("after")) == bytes("v"))
        }
    }

    @Test func reopenAfterCloseThrowsClosed() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            db.close()
            let error = #expect(throws: StoreError.self) { try db.reopen() }
            #expect(error?.code.rawValue == "closed")
        }
    }

    @Test func callsDuringReopenWaitInsteadOfFailing() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            let threadCount = 3
            let warmedUp = Recorder<Int>()
            let stop = Recorder<Bool>()
            let failures = Recorder<String>()
            let finished = Recorder<Int>()
            for thread in 0..<threadCount {
                Thread {
                    var index = 0
                    while stop.snapshot.isEmpty {
                        do {
                            try db.put(bytes("\(thread)/\(index % 50)"), [UInt8(index & 0xFF)], sync: false)
                            _ = try db.get(bytes("\(thread)/\(index % 50)"))
                            _ = try db.scan(prefix: bytes("\(thread)/"), limit: 3)
                        } catch {
                            failures.append("\(error)")
                        }
                        index += 1
                        if index == 20 { warmedUp.append(thread) }
                    }
                    finished.append(thread)
                }.start()
            }
            _ = warmedUp.wait(forCount: threadCount)
            for _ in 0..<3 {
                try db.reopen()
            }
            stop.append(true)
            _ = finished.wait(forCount: threadCount)
            #expect(failures.snapshot.isEmpty)
        }
    }

    @Test func aForEachBodyCanStillReadWhileAReopenWaitsForIt() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            for index in 0..<3 {
                try db.put(bytes("key/\(index)"), bytes("\(index)"), sync: false)
            }
            let reopened = Recorder<String>()
            var nestedReads = 0
            try db.forEach(prefix: bytes("key/")) { key, value in
                if key == bytes("key/0") {
                    Thread {
                        do {
                            try db.reopen()
                            reopened.append("ok")
                        } catch {
                            reopened.append("\(error)")
                        }
                    }.start()
                    // Let the reopen start waiting for this scan to end.
                    while db.lifecycle.withLock({ $0.reopenRequests }) == 0 {
                        usleep(100)
                    }
                }
                // A nested call must not deadlock against the waiting reopen.
                let reread = try db.get(key)
                #expect(reread == value)
                nestedReads += 1
                return true
            }
            #expect(nestedReads == 3)
            #expect(reopened.wait(forCount: 1) == ["ok"])
            #expect(try db.get(bytes("key/2")) == bytes("2"))
        }
    }

    @Test func writesAreRefusedWhileTheDiskIsBelowTheReserve() async throws {
        try await withTemporaryDirectory { path in
            var options = RocksDB.Options()
            options.minFreeDiskBytes = Int.max / 2
            do {
                let db = try RocksDB(path: path, options: options)
                defer { db.close() }
                let error = #expect(throws: StoreError.self) { try db.put([1], [1], sync: true) }
                #expect(error?.code.rawValue == "no_space")
                #expect(error?.message.contains("writes resume once space is freed") == true)
                #expect(try db.get([1]) == nil)

                let writer = GroupCommitWriter(db: db, durability: .strict)
                defer { writer.shutdown() }
                let first = await #expect(throws: StoreError.self) {
                    try await writer.write(GroupCommitWriterTests.batch("a"))
                }
                #expect(first?.code.rawValue == "no_space")
                let second = await #expect(throws: StoreError.self) {
                    try await writer.write(GroupCommitWriterTests.batch("b"))
                }
                #expect(second?.code.rawValue == "no_space")
                #expect(writer.statistics.failedCommits == 2)
            }
            options.minFreeDiskBytes = 0
            let db = try RocksDB(path: path, options: options)
            defer { db.close() }
            try db.put([1], [1], sync: true)
            #expect(try db.get([1]) == [1])
        }
    }

    @Test func afterAFailedWriteWritesAreRefusedUntilReopen() throws {
        try withTemporaryDirectory { path in
            let db = try RocksDB(path: path)
            defer { db.close() }
            try db.put([1], [1], sync: false)
            // What a failed WAL write leaves behind (a real one needs a full disk).
            db.lifecycle.withLock { $0.writeFailure = StoreError(code: .ioError, message: "injected") }

            let error = #expect(throws: StoreError.self) { try db.put([2], [2], sync: true) }
            #expect(error?.code.rawValue == "io_error")
            #expect(try db.get([1]) == [1])  // reads still work

            try db.reopen()
            try db.put([2], [2], sync: true)
            #expect(try db.get([2]) == [2])
        }
    }

    @Test func freeBytesIsMeasured() throws {
        let free = DiskSpaceGuard.freeBytes(at: FileManager.default.temporaryDirectory.path)
        #expect(free != nil && free! > 0)
        #expect(DiskSpaceGuard.freeBytes(at: "/no/such/directory/anywhere") == nil)
    }
}
