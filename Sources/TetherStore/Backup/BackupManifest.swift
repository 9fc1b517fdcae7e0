import Foundation
import TetherEngine

/// What one backup holds: `manifest.json` beside its checkpoint (docs/operations.md, "Backups").
///
/// Written last, once the checkpoint is complete, so a backup with a manifest is whole; read
/// back by ``BackupCatalog/verify(id:)`` to check every file against its size and SHA-256. The
/// JSON keys are those of the HTTP API's `BackupManifest`, so `tether backup list --dir` prints
/// what `GET /v1/admin/backups` sends.
public struct BackupManifest: Sendable, Equatable, Codable {
    /// The version of this file's format; a reader refuses a newer one.
    public static let currentFormatVersion = 1
    /// The name of the file in a backup's directory.
    public static let fileName = "manifest.json"

    /// The format of this manifest (``currentFormatVersion`` when written by this build).
    public var formatVersion: Int
    /// The backup's id, also its directory's name: a ULID, so ids sort by creation time.
    public var id: String
    /// When the checkpoint was taken, in Unix milliseconds (`createdAt` in the JSON, RFC 3339).
    public var createdAtMilliseconds: Int64
    /// The version of the coordinator that took it.
    public var coordinatorVersion: String
    /// The key layout version stored in the checkpoint (`meta/schema`); nil for a database
    /// that is not a coordinator's store.
    public var keyLayoutVersion: Int?
    /// The last cluster-journal entry the checkpoint contains (cluster mode: a node restored
    /// from it replays the journal after this one); nil in single-node mode.
    public var journalSequence: UInt64?
    /// The sum of ``files``' sizes.
    public var totalBytes: Int64
    /// Every file of the checkpoint, by path relative to the backup's directory, sorted.
    public var files: [File]

    /// One file of the checkpoint.
    public struct File: Sendable, Equatable, Codable {
        /// Relative to the backup's directory: `db/000012.sst`.
        public var path: String
        /// Its size.
        public var bytes: Int64
        /// Its SHA-256, 64 lowercase hex digits.
        public var sha256: String

        public init(path: String, bytes: Int64, sha256: String) {
            self.path = path
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public init(
        id: String, createdAtMilliseconds: Int64, coordinatorVersion: String, keyLayoutVersion: Int?,
        journalSequence: UInt64?, files: [File]
    ) {
        self.formatVersion = Self.currentFormatVersion
        self.id = id
        self.createdAtMilliseconds = createdAtMilliseconds
        self.coordinatorVersion = coordinatorVersion
        self.keyLayoutVersion = keyLayoutVersion
        self.journalSequence = journalSequence
        self.files = files
        self.totalBytes = files.reduce(0) { $0 + $1.bytes }
    }

    // MARK: JSON

    private enum CodingKeys: String, CodingKey {
        case formatVersion, id, createdAt, coordinatorVersion, keyLayoutVersion, journalSequence, totalBytes, files
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        id = try container.decode(String.self, forKey: .id)
        let createdAt = try container.decode(String.self, forKey: .createdAt)
        guard let milliseconds = BackupTime.parse(createdAt) else {
            throw DecodingError.dataCorruptedError(
                forKey: .createdAt, in: container, debugDescription: "not an RFC 3339 time: \(createdAt)")
        }
        createdAtMilliseconds = milliseconds
        coordinatorVersion = try container.decode(String.self, forKey: .coordinatorVersion)
        keyLayoutVersion = try container.decodeIfPresent(Int.self, forKey: .keyLayoutVersion)
        journalSequence = try container.decodeIfPresent(UInt64.self, forKey: .journalSequence)
        totalBytes = try container.decode(Int64.self, forKey: .totalBytes)
        files = try container.decode([File].self, forKey: .files)
    }

    /// Every key is written, `null` included, so the file always has the same shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(id, forKey: .id)
        try container.encode(BackupTime.format(milliseconds: createdAtMilliseconds), forKey: .createdAt)
        try container.encode(coordinatorVersion, forKey: .coordinatorVersion)
        try container.encode(keyLayoutVersion, forKey: .keyLayoutVersion)
        try container.encode(journalSequence, forKey: .journalSequence)
        try container.encode(totalBytes, forKey: .totalBytes)
        try container.encode(files, forKey: .files)
    }

    /// The manifest as `manifest.json` holds it: indented JSON with sorted keys.
    public func encoded() throws(StoreError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            var data = try encoder.encode(self)
            data.append(UInt8(ascii: "\n"))
            return data
        } catch {
            throw StoreError(
                code: StoreError.Code.unknown, message: "cannot encode the manifest of backup \(id): \(error)")
        }
    }

    /// Reads `manifest.json`; code `corruption` when it is not a manifest this build reads.
    public static func decode(_ data: Data, from path: String) throws(StoreError) -> BackupManifest {
        let manifest: BackupManifest
        do {
            manifest = try JSONDecoder().decode(BackupManifest.self, from: data)
        } catch {
            throw StoreError(code: StoreError.Code.corruption, message: "\(path) is not a backup manifest: \(error)")
        }
        guard manifest.formatVersion <= currentFormatVersion else {
            throw StoreError(
                code: StoreError.Code.invalidArgument,
                message:
                    "\(path) has manifest format \(manifest.formatVersion); this build reads up to \(currentFormatVersion)"
            )
        }
        return manifest
    }
}
