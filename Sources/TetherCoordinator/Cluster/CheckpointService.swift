import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import TetherCluster
import TetherStore

/// The leader's scheduled checkpoints, which bound the journal (docs/operations.md, "High
/// availability"): every interval, an online checkpoint of the store into the checkpoint
/// directory (a backup, with its manifest and the journal sequence it ends at), recorded in
/// `tether_checkpoints`; then the directory is pruned to the newest `keep` and the journal is
/// trimmed below the oldest checkpoint kept, so any node can start from a kept checkpoint and
/// the journal after it.
///
/// Runs as a service of the leader's coordinator term, until its graceful shutdown. A failed
/// checkpoint is logged and counted, and trims nothing; the next interval tries again.
struct CheckpointService: Service {
    let term: LeaderTerm
    let db: RocksDB
    let threadPool: NIOThreadPool
    let version: String
    let logger: Logger

    func run() async throws {
        let schedule = term.checkpoints
        guard schedule.intervalMilliseconds > 0 else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .milliseconds(schedule.intervalMilliseconds))
                }
            } catch {
                return
            }
            guard term.isLeading else { continue }
            await checkpoint()
        }
    }

    /// Takes, records and prunes one checkpoint, then trims the journal.
    func checkpoint() async {
        let catalog = BackupCatalog(directory: term.checkpoints.directory)
        let db = self.db
        let version = self.version
        do {
            let started = ContinuousClock.now
            let manifest = try await threadPool.runIfActive {
                try catalog.create(
                    of: db, coordinatorVersion: version,
                    journalSequence: .read { copy throws(StoreError) in try copy.journalSequence() })
            }
            guard let sequence = manifest.journalSequence else {
                throw ClusterError(.journalMismatch, "checkpoint \(manifest.id) holds no journal sequence")
            }
            try await term.journal.recordCheckpoint(
                CheckpointRecord(id: manifest.id, sequence: sequence, nodeId: term.nodeId, path: catalog.path(of: manifest.id)))
            let keep = term.checkpoints.keep
            let pruned = try await threadPool.runIfActive { try catalog.prune(keep: keep) }
            let trimmed = try await trim(keep: keep, pruned: pruned)
            term.state.update { values in
                values.checkpoints += 1
                values.lastCheckpointSequence = sequence
                values.trimmedEntries += trimmed
            }
            logger.info(
                "checkpoint taken",
                metadata: [
                    "id": "\(manifest.id)", "journalSequence": "\(sequence)", "bytes": "\(manifest.totalBytes)",
                    "seconds": "\(ContinuousClock.now - started)", "pruned": "\(pruned.count)", "trimmedEntries": "\(trimmed)",
                ])
        } catch {
            term.state.update { $0.failedCheckpoints += 1 }
            logger.error("checkpoint failed; the journal is not trimmed", metadata: ["error": "\(error)"])
        }
    }

    /// Forgets the checkpoints deleted or unreadable, and trims the journal below the oldest of
    /// the newest `keep` that this node can read; returns how many entries went.
    private func trim(keep: Int, pruned: [String]) async throws -> Int {
        let records = try await term.journal.checkpoints()
        let readable = try await threadPool.runIfActive {
            records.filter { !pruned.contains($0.id) && Self.catalog(holding: $0, at: $0.path) != nil }
        }
        let kept = readable.prefix(keep)
        let keptIds = Set(kept.map(\.id))
        try await term.journal.forgetCheckpoints(records.map(\.id).filter { !keptIds.contains($0) })
        guard let oldest = kept.last else { return 0 }
        // The checkpoint's own entry stays: the journal never ends up empty.
        return try await term.journal.trim(below: oldest.sequence)
    }

    /// The backup directory that holds `record`'s checkpoint at `path` (its recorded path, or
    /// the same id elsewhere), when that directory is named by the id and holds a readable
    /// manifest: a node can start from it. nil otherwise.
    static func catalog(holding record: CheckpointRecord, at path: String) -> BackupCatalog? {
        let url = URL(fileURLWithPath: path)
        let catalog = BackupCatalog(directory: url.deletingLastPathComponent().path)
        guard url.lastPathComponent == record.id, (try? catalog.manifest(id: record.id)) != nil else { return nil }
        return catalog
    }
}
