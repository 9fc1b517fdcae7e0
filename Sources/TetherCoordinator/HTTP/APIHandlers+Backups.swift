import NIOPosix
import TetherAPI
import TetherStore

extension APIHandlers {
    /// The coordinator's backup directory (``CoordinatorConfiguration/resolvedBackupDirectory``).
    var backups: BackupCatalog {
        BackupCatalog(directory: configuration.resolvedBackupDirectory)
    }

    /// `POST /v1/admin/backups`: an online checkpoint of the live store, hashed and fsynced with
    /// its manifest, on the thread pool (it reads the whole store). One at a time: while one is
    /// under way (or `tether backup prune` runs on the directory) the next is answered
    /// `409 conflict` rather than queued, so a client retrying in a loop cannot pile them up.
    func createBackup(_ input: Operations.createBackup.Input) async throws -> Operations.createBackup.Output {
        let catalog = backups
        let db = store.db
        let version = configuration.version
        let manifest: BackupManifest
        do {
            // A cluster node's backup records the journal entry it ends at, read from the checkpoint
            // itself (the store applies each entry and its sequence in one write).
            let journalSequence: BackupJournalSequence =
                configuration.leaderTerm == nil ? .none : .read { db throws(StoreError) in try db.journalSequence() }
            manifest = try await threadPool.runIfActive {
                try catalog.create(of: db, coordinatorVersion: version, journalSequence: journalSequence)
            }
        } catch let error as StoreError where error.code == .busy {
            throw APIError(
                .conflict, .conflict,
                "a backup is already being created (or the backup directory pruned); send again once it is done")
        }
        return .created(.init(body: .json(Components.Schemas.BackupManifest(manifest))))
    }

    /// `GET /v1/admin/backups`: the complete backups, newest first, without their files.
    func listBackups(_ input: Operations.listBackups.Input) async throws -> Operations.listBackups.Output {
        let catalog = backups
        let manifests = try await threadPool.runIfActive { try catalog.list() }
        return .ok(.init(body: .json(.init(backups: manifests.map(Components.Schemas.BackupSummary.init)))))
    }
}
