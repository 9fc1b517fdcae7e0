import Foundation
import TetherAPI
import TetherStore

// A backup's manifest (TetherStore) as the HTTP API's types: what `POST /v1/admin/backups` and
// `GET /v1/admin/backups` send, and what `tether backup list --dir --json` prints offline.

extension Components.Schemas.BackupManifest {
    /// The manifest as `POST /v1/admin/backups` answers it.
    public init(_ manifest: TetherStore.BackupManifest) {
        self.init(
            coordinatorVersion: manifest.coordinatorVersion,
            createdAt: APIRendering.date(manifest.createdAtMilliseconds),
            files: manifest.files.map { .init(bytes: Int($0.bytes), path: $0.path, sha256: $0.sha256) },
            formatVersion: manifest.formatVersion, id: manifest.id,
            journalSequence: Nullable(manifest.journalSequence.map { Int64(clamping: $0) }),
            keyLayoutVersion: Nullable(manifest.keyLayoutVersion.map { Int64($0) }),
            totalBytes: Int(manifest.totalBytes))
    }
}

extension Components.Schemas.BackupSummary {
    /// The manifest without its files, as `GET /v1/admin/backups` lists it.
    public init(_ manifest: TetherStore.BackupManifest) {
        self.init(
            coordinatorVersion: manifest.coordinatorVersion,
            createdAt: APIRendering.date(manifest.createdAtMilliseconds),
            fileCount: manifest.files.count, id: manifest.id,
            journalSequence: Nullable(manifest.journalSequence.map { Int64(clamping: $0) }),
            keyLayoutVersion: Nullable(manifest.keyLayoutVersion.map { Int64($0) }),
            totalBytes: Int(manifest.totalBytes))
    }
}
