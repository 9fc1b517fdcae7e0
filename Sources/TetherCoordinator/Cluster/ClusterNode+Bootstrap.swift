import Foundation
import NIOPosix
import TetherCluster
import TetherStore

/// Starting a node's store from a checkpoint: a new node (empty data directory) once the journal
/// was trimmed, or a node whose store the trimmed journal no longer continues (it was down
/// longer than the checkpoints kept reach back).
extension ClusterNode {
    /// Restores the latest checkpoint into an empty (or missing) data directory when the
    /// journal no longer starts at its first entry; does nothing otherwise. Failures are logged:
    /// the standby's catch-up then meets `journal_trimmed` and tries again.
    func bootstrapIfEmpty(journal: PostgresJournal, threadPool: NIOThreadPool) async {
        let directory = configuration.dataDirectory
        let isEmpty = (try? FileManager.default.contentsOfDirectory(atPath: directory).isEmpty) ?? true
        guard isEmpty else { return }
        do {
            guard try await journal.bounds().first > 1 else { return }
            try await bootstrap(journal: journal, threadPool: threadPool, replacing: false)
        } catch {
            logger.error("cannot start this new node from a checkpoint yet", metadata: ["error": "\(error)"])
        }
    }

    /// Restores into the data directory the newest recorded checkpoint this node can read and
    /// the journal continues (its sequence at least the journal's first minus one). With
    /// `replacing`, the data directory (closed) is first moved aside to
    /// `<data>.replaced-<unix ms>`, never deleted. Throws `journal_trimmed` when no checkpoint
    /// fits, and the restore's errors (a checkpoint that fails verification, say).
    func bootstrap(journal: PostgresJournal, threadPool: NIOThreadPool, replacing: Bool) async throws {
        let first = try await journal.bounds().first
        let records = try await journal.checkpoints()
        let own = checkpointDirectory
        let directory = configuration.dataDirectory
        // The path the leader recorded, or the same checkpoint in this node's own directory.
        let candidates = records.filter { $0.sequence + 1 >= first }.flatMap { record in
            [record.path, own + "/" + record.id].map { (record, $0) }
        }
        let restored = try await threadPool.runIfActive { () throws -> (CheckpointRecord, String)? in
            for (record, path) in candidates {
                guard let catalog = CheckpointService.catalog(holding: record, at: path) else { continue }
                if replacing && FileManager.default.fileExists(atPath: directory) {
                    let aside = directory + ".replaced-\(Int64(Date().timeIntervalSince1970 * 1_000))"
                    try FileManager.default.moveItem(atPath: directory, toPath: aside)
                }
                try catalog.restore(id: record.id, into: directory)
                return (record, path)
            }
            return nil
        }
        guard let (record, path) = restored else {
            throw ClusterError(
                .journalTrimmed,
                "the journal starts at entry \(first) and no recorded checkpoint this node can read reaches it "
                    + "(\(records.count) recorded; checkpoint directory \(own)): make the leader's checkpoint directory "
                    + "readable here, at the same path")
        }
        state.update { $0.bootstraps += 1 }
        logger.notice(
            "started this node's store from a checkpoint",
            metadata: [
                "checkpoint": "\(record.id)", "path": "\(path)", "journalSequence": "\(record.sequence)",
                "takenBy": "\(record.nodeId)", "replacedStore": "\(replacing)",
            ])
    }
}
