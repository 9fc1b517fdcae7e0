import SwiftProtobuf
import TetherEngine
import TetherProtocol

extension CoordinatorStore {
    /// Brings a store written by an earlier key layout up to ``KeyLayout/schemaVersion``, or
    /// refuses it with code `unsupported_layout`, saying why.
    ///
    /// - Version 1 → 2 adds the retention indexes: every stored event gets its `eventReceived`
    ///   entry (at its received time) and every ended run its `endedRun` entry (at its end), in
    ///   batches, then the version is written. Each step only adds entries that a second run
    ///   writes again identically, so a migration interrupted by a crash simply runs again at
    ///   the next open.
    /// - A version above this release's was written by a newer release: reading it could
    ///   misread or lose data, so it is refused.
    static func migrate(_ db: RocksDB, from version: Int, directory: String) throws {
        let current = KeyLayout.schemaVersion
        guard version >= KeyLayout.oldestMigratableVersion else {
            throw StoreError(
                code: StoreError.Code.unsupportedLayout,
                message: "\(directory) holds key layout version \(version), which no release of tether reads; "
                    + "this coordinator reads versions \(KeyLayout.oldestMigratableVersion)–\(current)")
        }
        guard version <= current else {
            throw StoreError(
                code: StoreError.Code.unsupportedLayout,
                message: "\(directory) holds key layout version \(version), written by a newer release of tether; "
                    + "this coordinator reads versions up to \(current): run the release that wrote it, "
                    + "or restore a backup taken before the upgrade")
        }
        if version < 2 { try addRetentionIndexes(db) }
        try db.put(KeyLayout.schemaKey, Array(String(current).utf8), sync: true)
    }

    /// Layout 1 → 2: the `eventReceived` and `endedRun` entries of everything stored.
    private static func addRetentionIndexes(_ db: RocksDB) throws {
        var batch = WriteBatch()
        func flushIfFull() throws {
            guard batch.count >= 10_000 else { return }
            try db.write(batch, sync: false)
            batch.removeAll()
        }
        let eventPrefix = KeyLayout.prefix(.event)
        try db.forEach(prefix: eventPrefix) { key, value in
            let stored = try Tether_V1_StoredEvent(serializedBytes: value)
            let id = KeyLayout.id(of: key, droppingPrefix: eventPrefix.count)
            batch.put(KeyLayout.timed(.eventReceived, stored.receivedAtUnixMs, id), [])
            try flushIfFull()
            return true
        }
        try db.forEach(prefix: KeyLayout.prefix(.run)) { _, value in
            let run = RecordCoding.decodeHeader(try Tether_V1_StoredRun(serializedBytes: value))
            if run.status.isTerminal {
                batch.put(KeyLayout.timed(.endedRun, endedAt(run), run.id), [])
                try flushIfFull()
            }
            return true
        }
        try db.write(batch, sync: true)
    }
}
