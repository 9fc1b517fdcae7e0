import Foundation
import Testing
import TetherEngine

@testable import TetherStore

@Suite("Store layout: versions, migration, the committed fixture")
struct StoreLayoutTests {
    /// The fixture of the current layout, written by `scripts/make-store-fixture.sh` with this
    /// release's `tether dev` and example worker.
    static var fixture: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/store-layout-\(KeyLayout.schemaVersion)")
    }

    /// Copies the fixture into `directory` (opening a store writes to it).
    static func copyFixture(to directory: String) throws -> [(id: String, status: String)] {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var expected: [(String, String)] = []
        for name in try manager.contentsOfDirectory(atPath: fixture.path) {
            let source = fixture.appendingPathComponent(name)
            if name == "expected.json" {
                let runs = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [[String: String]] ?? []
                expected = runs.map { ($0["id"] ?? "", $0["status"] ?? "") }
            } else {
                try manager.copyItem(atPath: source.path, toPath: directory + "/" + name)
            }
        }
        return expected
    }

    @Test("the fixture written by this release opens: its runs, events and active run read back, and retention can delete what ended")
    func fixtureOpens() async throws {
        try await withTemporaryDirectory { directory in
            let expected = try Self.copyFixture(to: directory)
            #expect(expected.count == 5)
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            let listed = try store.listRuns(limit: 100).runs.sorted { $0.id < $1.id }
            // The API showed the running run as running; the store holds it as queued or running.
            #expect(listed.map(\.id) == expected.map(\.id))
            for (run, wanted) in zip(listed, expected) where wanted.status != "running" {
                #expect(run.status.rawValue == wanted.status)
            }
            #expect(Set(listed.map(\.status)).isSuperset(of: [.completed, .failed, .cancelled]))
            let active = try store.loadActiveRuns()
            #expect(active.count == 1)
            #expect(active.first?.events.first?.name == "order/created")
            #expect(try store.run(id: listed[0].id)?.steps.count == 3)
            for id in ["order-1", "order-2", "order-3", "order-4", "order-5"] {
                #expect(try store.knownEvent(id: id)?.runIds.count == 1)
            }
            #expect(try store.loadFunctions().map(\.id) == ["shop:process-order"])

            // Far in the future, everything that ended goes; the active run and its event stay.
            let later = Int64(Date().timeIntervalSince1970 * 1_000) + 30 * 86_400_000
            let scan = try store.scanRetention(policy: .default, now: later, cursor: RetentionCursor())
            let activeEvents = Set(active.flatMap(\.events).map(\.id))
            let plan = scan.plan(inUse: scan.eventIds.intersection(activeEvents), now: later, idWindowMilliseconds: 86_400_000)
            try await store.writer.write(plan.batch)
            #expect(plan.counts.runs == 4)
            #expect(try store.listRuns(limit: 100).runs.map(\.id) == active.map(\.id))
            #expect(try store.knownEvent(id: "order-1") == nil)
            #expect(try store.run(id: active[0].id)?.events.count == 1)
        }
    }

    @Test("a layout-1 store (this layout without its retention indexes) is migrated at open: the indexes are rebuilt")
    func migratesFromVersionOne() async throws {
        try await withTemporaryDirectory { directory in
            _ = try Self.copyFixture(to: directory)
            // What this release wrote, as the first layout wrote it: no retention indexes, version 1.
            var indexed: [[UInt8]] = []
            var stored = 0
            do {
                let db = try RocksDB(path: directory)
                defer { db.close() }
                var batch = WriteBatch()
                for kind in [KeyKind.eventReceived, .eventIdHold, .endedRun] {
                    for entry in try db.scan(prefix: KeyLayout.prefix(kind)) {
                        indexed.append(entry.key)
                        batch.delete(entry.key)
                    }
                }
                // Every event (the five orders and the failed run's `tether/function.failed`) and
                // every ended run has its entry.
                stored = try db.scan(prefix: KeyLayout.prefix(.event)).count + 4
                batch.put(KeyLayout.schemaKey, Array("1".utf8))
                try db.write(batch, sync: true)
            }
            #expect(indexed.count == stored)
            #expect(stored >= 5 + 4)
            let store = try CoordinatorStore(directory: directory, durability: .relaxed)
            defer { store.close() }
            #expect(try store.db.get(KeyLayout.schemaKey) == Array(String(KeyLayout.schemaVersion).utf8))
            var rebuilt: [[UInt8]] = []
            for kind in [KeyKind.eventReceived, .eventIdHold, .endedRun] {
                rebuilt += try store.db.scan(prefix: KeyLayout.prefix(kind)).map(\.key)
            }
            #expect(rebuilt == indexed)
        }
    }

    @Test("a store written by a newer layout is refused with unsupported_layout, and left as it was")
    func newerLayoutRefused() throws {
        try withTemporaryDirectory { directory in
            do {
                let db = try RocksDB(path: directory)
                try db.put(KeyLayout.schemaKey, Array(String(KeyLayout.schemaVersion + 1).utf8), sync: true)
                db.close()
            }
            let error = #expect(throws: StoreError.self) {
                _ = try CoordinatorStore(directory: directory, durability: .relaxed)
            }
            #expect(error?.code == .unsupportedLayout)
            #expect(error?.message.contains("key layout version \(KeyLayout.schemaVersion + 1), written by a newer release") == true)
            let db = try RocksDB(path: directory)
            defer { db.close() }
            #expect(try db.get(KeyLayout.schemaKey) == Array(String(KeyLayout.schemaVersion + 1).utf8))
        }
    }

    @Test("a version that is no number, or older than any release migrates from, is refused")
    func unknownLayoutRefused() throws {
        for stored in ["0", "x"] {
            try withTemporaryDirectory { directory in
                do {
                    let db = try RocksDB(path: directory)
                    try db.put(KeyLayout.schemaKey, Array(stored.utf8), sync: true)
                    db.close()
                }
                let error = #expect(throws: StoreError.self) {
                    _ = try CoordinatorStore(directory: directory, durability: .relaxed)
                }
                #expect(error?.code == .unsupportedLayout)
            }
        }
    }
}
