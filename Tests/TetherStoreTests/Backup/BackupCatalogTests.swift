import Foundation
import Synchronization
import Testing
import TetherEngine

@testable import TetherStore

/// Expects `call` to throw a ``StoreError`` with `code` and returns it.
@discardableResult
func expectStoreError(
    _ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ call: () throws -> Void
) -> StoreError? {
    let error = #expect(throws: StoreError.self, sourceLocation: sourceLocation) { try call() }
    #expect(error?.code.rawValue == code, "\(error.map { "\($0)" } ?? "no error")", sourceLocation: sourceLocation)
    return error
}

@Suite("Backups: online checkpoints with manifests, verify, restore, prune")
struct BackupCatalogTests {
    /// The writer of ``backupWhileWriting()``: how many keys it stored, and when to stop.
    final class Writing: Sendable {
        let written = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    /// Every key and value of a database, in order.
    static func contents(of db: RocksDB) throws -> [[UInt8]: [UInt8]] {
        var entries: [[UInt8]: [UInt8]] = [:]
        for (key, value) in try db.scan(prefix: []) { entries[key] = value }
        return entries
    }

    /// A store with `count` keys under `key/` (values long enough to fill a few blocks), flushed
    /// to SST files.
    static func filledStore(at path: String, count: Int = 2_000) throws -> CoordinatorStore {
        let store = try CoordinatorStore(directory: path, durability: .relaxed)
        var batch = WriteBatch()
        for index in 0..<count {
            batch.put(
                bytes("key/\(String(format: "%06d", index))"), bytes(String(repeating: "value-\(index)-", count: 8)))
        }
        try store.db.write(batch, sync: true)
        return store
    }

    @Test("a backup taken while writes go on holds every earlier write, verifies, and restores to the same data")
    func backupWhileWriting() async throws {
        try await withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db", count: 500)
            defer { store.close() }
            let catalog = BackupCatalog(directory: root + "/backups")

            // A writer that never pauses; `written` is how many of its keys are stored.
            let writing = Writing()
            let db = store.db
            let writer = Task.detached {
                var index = 0
                while !writing.stop.load(ordering: .relaxed) {
                    try db.put(bytes("live/\(String(format: "%08d", index))"), bytes("v\(index)"), sync: false)
                    index += 1
                    writing.written.store(index, ordering: .releasing)
                }
                return index
            }
            _ = await waitUntil { writing.written.load(ordering: .acquiring) >= 1_000 }
            let before = writing.written.load(ordering: .acquiring)
            let manifest = try catalog.create(of: store.db, coordinatorVersion: "9.9.9")
            let afterCreate = writing.written.load(ordering: .acquiring)
            writing.stop.store(true, ordering: .relaxed)
            let total = try await writer.value

            #expect(IDGenerator.isValid(manifest.id))
            #expect(manifest.coordinatorVersion == "9.9.9")
            #expect(manifest.keyLayoutVersion == KeyLayout.schemaVersion)
            #expect(manifest.journalSequence == nil)
            #expect(manifest.files.contains { $0.path == "db/CURRENT" })
            #expect(manifest.files.contains { $0.path.hasSuffix(".sst") })
            #expect(manifest.totalBytes == manifest.files.reduce(0) { $0 + $1.bytes })
            #expect(manifest.files.map(\.path) == manifest.files.map(\.path).sorted())
            #expect(!FileManager.default.fileExists(atPath: root + "/backups/.tmp-" + manifest.id))
            #expect(try catalog.list() == [manifest])

            let verification = try catalog.verify(id: manifest.id)
            #expect(verification.fileCount == manifest.files.count)
            #expect(verification.totalBytes == manifest.totalBytes)
            // 500 keys, the schema key, and the live keys the checkpoint caught.
            let liveInBackup = verification.keyCount - 501
            // (A put that returned while create returned may be in it before it is counted.)
            #expect(
                liveInBackup >= before && liveInBackup <= afterCreate + 1,
                "\(before) ≤ \(liveInBackup) ≤ \(afterCreate) of \(total)")

            try catalog.restore(id: manifest.id, into: root + "/restored")
            let restored = try CoordinatorStore(directory: root + "/restored", durability: .strict)
            defer { restored.close() }
            let live = try restored.db.scan(prefix: bytes("live/"))
            #expect(live.count == liveInBackup)
            // Exactly a prefix of the writer's keys: no gap, nothing after the checkpoint.
            #expect(
                live.last.map { String(decoding: $0.key, as: UTF8.self) }
                    == String(format: "live/%08d", liveInBackup - 1))
            #expect(try restored.db.scan(prefix: bytes("key/")).count == 500)
            // The restored store takes writes.
            try restored.db.put(bytes("after-restore"), bytes("ok"), sync: true)
        }
    }

    @Test("a restored store is the data at the checkpoint, key for key, and the backup's files are the checkpoint's")
    func restoreRoundTrip() throws {
        try withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db")
            defer { store.close() }
            let expected = try Self.contents(of: store.db)
            let catalog = BackupCatalog(directory: root + "/backups")
            let manifest = try catalog.create(of: store.db)
            try store.db.put(bytes("key/after"), bytes("not in the backup"), sync: true)

            // Same file system: the SST files are hard links to the live store's.
            let sst = try #require(manifest.files.first { $0.path.hasSuffix(".sst") })
            let attributes = try FileManager.default.attributesOfItem(
                atPath: catalog.path(of: manifest.id) + "/" + sst.path)
            #expect((attributes[.referenceCount] as? NSNumber)?.intValue ?? 0 >= 2)

            let verification = try catalog.restore(id: manifest.id, into: root + "/restored")
            #expect(verification.keyCount == expected.count)
            // Copies, not links: the restored store owns its files.
            let restoredAttributes = try FileManager.default.attributesOfItem(
                atPath: root + "/restored/" + sst.path.dropFirst("db/".count))
            #expect((restoredAttributes[.referenceCount] as? NSNumber)?.intValue == 1)
            let restored = try CoordinatorStore(directory: root + "/restored", durability: .strict)
            defer { restored.close() }
            #expect(try Self.contents(of: restored.db) == expected)
        }
    }

    @Test("a changed byte in an SST file fails verify with code corruption, whether the manifest or RocksDB catches it")
    func corruptionIsCaught() throws {
        try withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db")
            let catalog = BackupCatalog(directory: root + "/backups")
            let manifest = try catalog.create(of: store.db)
            store.close()
            let sst = try #require(manifest.files.first { $0.path.hasSuffix(".sst") })
            let sstPath = catalog.path(of: manifest.id) + "/" + sst.path

            // The file is a hard link to the store's: break the link before changing it, as a
            // disk error in the backup would.
            var data = try Data(contentsOf: URL(fileURLWithPath: sstPath))
            data[200] ^= 0x5A
            try FileManager.default.removeItem(atPath: sstPath)
            try data.write(to: URL(fileURLWithPath: sstPath))

            let byManifest = expectStoreError("corruption") { try catalog.verify(id: manifest.id) }
            #expect(byManifest?.message.contains("SHA-256") == true)

            // A store already corrupt when it was backed up: the manifest matches the bad file,
            // and RocksDB's block checksums catch it.
            var rewritten = manifest
            let index = try #require(rewritten.files.firstIndex(of: sst))
            rewritten.files[index].sha256 = try BackupFiles.hash(sstPath).sha256
            let manifestPath = catalog.path(of: manifest.id) + "/manifest.json"
            try FileManager.default.removeItem(atPath: manifestPath)
            try rewritten.encoded().write(to: URL(fileURLWithPath: manifestPath))
            let byRocksDB = expectStoreError("corruption") { try catalog.verify(id: manifest.id) }
            #expect(byRocksDB?.message.contains("checksum") == true, "\(byRocksDB.map { "\($0)" } ?? "")")

            // A corrupt backup is never restored.
            expectStoreError("corruption") { try catalog.restore(id: manifest.id, into: root + "/restored") }
            #expect(!FileManager.default.fileExists(atPath: root + "/restored"))
            try FileManager.default.createDirectory(atPath: root + "/mounted", withIntermediateDirectories: false)
            expectStoreError("corruption") { try catalog.restore(id: manifest.id, into: root + "/mounted") }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/mounted") == [])
            #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["backups", "db", "mounted"])
        }
    }

    @Test("files missing from or added to a backup, a missing manifest, unknown and malformed ids: each has its code")
    func damagedBackups() throws {
        try withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db", count: 10)
            defer { store.close() }
            let catalog = BackupCatalog(directory: root + "/backups")
            let first = try catalog.create(of: store.db)
            let second = try catalog.create(of: store.db)

            try Data("x".utf8).write(to: URL(fileURLWithPath: catalog.databasePath(of: first.id) + "/stray"))
            #expect(
                expectStoreError("corruption") { try catalog.verify(id: first.id) }?.message.contains("db/stray")
                    == true)
            try FileManager.default.removeItem(atPath: catalog.databasePath(of: first.id) + "/stray")
            _ = try catalog.verify(id: first.id)

            try FileManager.default.removeItem(atPath: catalog.databasePath(of: first.id) + "/CURRENT")
            #expect(
                expectStoreError("corruption") { try catalog.verify(id: first.id) }?.message.contains(
                    "db/CURRENT is missing") == true)

            try FileManager.default.removeItem(atPath: catalog.path(of: second.id) + "/manifest.json")
            expectStoreError("corruption") { try catalog.verify(id: second.id) }
            // A backup without a manifest is not listed.
            #expect(try catalog.list().map(\.id) == [first.id])

            expectStoreError("invalid_argument") { try catalog.verify(id: "../db") }
            expectStoreError("not_found") { try catalog.verify(id: "01ARZ3NDEKTSV4RRFFQ69G5FAV") }
            // A manifest that lists a file outside the checkpoint.
            var escaping = first
            escaping.files.append(.init(path: "db/../../db/CURRENT", bytes: 1, sha256: ""))
            let manifestPath = catalog.path(of: first.id) + "/manifest.json"
            try FileManager.default.removeItem(atPath: manifestPath)
            try escaping.encoded().write(to: URL(fileURLWithPath: manifestPath))
            expectStoreError("corruption") { try catalog.manifest(id: first.id) }
        }
    }

    @Test("restore never writes over data: a non-empty directory or a file is refused; an empty directory is fine")
    func restoreTargets() throws {
        try withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db", count: 10)
            defer { store.close() }
            let catalog = BackupCatalog(directory: root + "/backups")
            let manifest = try catalog.create(of: store.db)

            try FileManager.default.createDirectory(atPath: root + "/busy", withIntermediateDirectories: true)
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: root + "/busy/file"))
            let refused = expectStoreError("already_exists") {
                try catalog.restore(id: manifest.id, into: root + "/busy")
            }
            #expect(refused?.message.contains("not empty") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/busy") == ["file"])
            expectStoreError("already_exists") { try catalog.restore(id: manifest.id, into: root + "/busy/file") }
            expectStoreError("not_found") { try catalog.restore(id: "01ARZ3NDEKTSV4RRFFQ69G5FAV", into: root + "/new") }

            try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
            try catalog.restore(id: manifest.id, into: root + "/empty")
            let moved = try FileManager.default.contentsOfDirectory(atPath: root + "/empty")
            #expect(Set(moved) == Set(manifest.files.map { String($0.path.dropFirst("db/".count)) }))
            try catalog.restore(id: manifest.id, into: root + "/deeper/new/")
            for target in ["empty", "deeper/new"] {
                let restored = try RocksDB(path: root + "/" + target)
                #expect(try restored.scan(prefix: bytes("key/")).count == 10)
                restored.close()
            }
            // No staging directory is left beside the new target, nor inside the existing one
            // (into which the files were moved, as into a mount point: checked above).
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/deeper") == ["new"])
        }
    }

    @Test("ids sort by creation; list is newest first; prune keeps the newest complete ones and clears leftovers")
    func listAndPrune() throws {
        try withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db", count: 10)
            defer { store.close() }
            let catalog = BackupCatalog(directory: root + "/backups")
            #expect(try catalog.list() == [])
            #expect(try catalog.prune(keep: 1) == [])
            var ids: [String] = []
            for _ in 0..<4 { ids.append(try catalog.create(of: store.db).id) }
            #expect(ids == ids.sorted() && Set(ids).count == 4)
            #expect(try catalog.list().map(\.id) == ids.reversed())
            #expect(try catalog.latest()?.id == ids[3])

            // A create that crashed half way, and a backup whose manifest is gone (the oldest kept after pruning).
            try FileManager.default.createDirectory(
                atPath: root + "/backups/.tmp-01ARZ3NDEKTSV4RRFFQ69G5FAV/db", withIntermediateDirectories: true)
            try FileManager.default.removeItem(atPath: catalog.path(of: ids[3]) + "/manifest.json")
            #expect(try catalog.list().map(\.id) == [ids[2], ids[1], ids[0]])

            expectStoreError("invalid_argument") { try catalog.prune(keep: 0) }
            #expect(try catalog.prune(keep: 2) == [ids[0]])
            #expect(try catalog.list().map(\.id) == [ids[2], ids[1]])
            let left = try FileManager.default.contentsOfDirectory(atPath: root + "/backups").filter { $0 != ".lock" }
            #expect(Set(left) == [ids[1], ids[2], ids[3]])
            #expect(try catalog.prune(keep: 5) == [])
        }
    }

    @Test("one create or prune at a time per directory: the second is refused with busy")
    func oneAtATime() throws {
        try withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db", count: 10)
            defer { store.close() }
            let catalog = BackupCatalog(directory: root + "/backups")
            _ = try catalog.create(of: store.db)
            try BackupDirectoryLock.withLock(in: catalog.directory) { () throws(StoreError) in
                expectStoreError("busy") { _ = try catalog.create(of: store.db) }
                expectStoreError("busy") { try catalog.prune(keep: 1) }
            }
            #expect(try catalog.list().count == 1)
            _ = try catalog.create(of: store.db)
        }
    }

    @Test("the journal sequence: none, known to the caller, or read from the checkpoint itself")
    func journalSequence() throws {
        try withTemporaryDirectory { root in
            let store = try Self.filledStore(at: root + "/db", count: 10)
            defer { store.close() }
            let key = KeyLayout.meta("test-journal")
            let big: (UInt64) -> [UInt8] = { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
            }
            try store.db.put(key, big(1_234), sync: true)
            let catalog = BackupCatalog(directory: root + "/backups")
            #expect(try catalog.create(of: store.db, journalSequence: .known(42)).journalSequence == 42)
            let read = try catalog.create(
                of: store.db,
                journalSequence: .read { db throws(StoreError) in
                    try db.get(key).map { $0.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
                })
            #expect(read.journalSequence == 1_234)
            // What the manifest file says is what create returned.
            #expect(try catalog.manifest(id: read.id) == read)
            let json = try String(contentsOfFile: catalog.path(of: read.id) + "/manifest.json", encoding: .utf8)
            #expect(json.contains(#""journalSequence" : 1234"#))
            #expect(try catalog.create(of: store.db).journalSequence == nil)
        }
    }

    @Test("manifest times are RFC 3339 with milliseconds, and read back exactly")
    func manifestTimes() {
        #expect(BackupTime.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(BackupTime.format(milliseconds: 1_795_000_020_123) == "2026-11-18T11:07:00.123Z")
        for milliseconds: Int64 in [0, 1, 999, 1_795_000_020_123, 253_402_300_799_999] {
            #expect(BackupTime.parse(BackupTime.format(milliseconds: milliseconds)) == milliseconds)
        }
        #expect(BackupTime.parse("2026-11-17T11:47:00Z") == nil)
        #expect(
            BackupCatalog.milliseconds(ofId: IDGenerator(seed: 1).nextId(at: 1_795_000_020_123)) == 1_795_000_020_123)
    }
}

extension IDGenerator {
    fileprivate func nextId(at milliseconds: Int64) -> String {
        var generator = self
        return generator.next(nowMilliseconds: milliseconds)
    }
}

/// Polls `condition` until it holds (at most a minute).
func waitUntil(_ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}
