import Foundation
import TetherEngine

/// A directory of backups of a store: online RocksDB checkpoints with their manifests.
///
/// Each backup is a subdirectory named by its id, a ULID (so names sort by creation time),
/// holding the checkpoint in `db/` and ``BackupManifest/fileName`` beside it:
///
/// ```text
/// backups/
///   01JH2W6V8Q0000000000000000/
///     manifest.json
///     db/CURRENT, MANIFEST-000009, OPTIONS-000011, 000008.sst, 000010.log, …
/// ```
///
/// ``create(of:coordinatorVersion:journalSequence:)`` builds a backup in `.tmp-<id>`, fsyncs
/// it and renames it into place, so a backup directory is either complete or absent; one
/// create (or prune) runs at a time per directory. ``verify(id:)`` checks every file against
/// the manifest and reads every key with checksums on; ``restore(id:into:)`` copies a verified
/// backup into a new data directory. Every method blocks on the disk: call it from a thread
/// pool, never from an event loop. Errors are ``StoreError``s; docs/operations.md ("Backups")
/// lists the codes.
public struct BackupCatalog: Sendable {
    /// The backup directory.
    public let directory: String

    /// The checkpoint's directory inside a backup.
    public static let databaseDirectoryName = "db"
    /// The prefix of a backup being created or deleted; such directories are never listed.
    static let temporaryPrefix = ".tmp-"

    public init(directory: String) {
        self.directory = directory
    }

    /// The directory of the backup `id`.
    public func path(of id: String) -> String {
        directory + "/" + id
    }

    /// The checkpoint of the backup `id`: a RocksDB directory (open it read-only, or restore it).
    public func databasePath(of id: String) -> String {
        path(of: id) + "/" + Self.databaseDirectoryName
    }

    // MARK: Creating

    /// Backs up the open database `db`, online, and returns the new backup's manifest.
    ///
    /// Writes to `db` go on meanwhile; the backup holds every write made before the call (see
    /// ``RocksDB/createCheckpoint(at:)``). The checkpoint is taken into `.tmp-<id>`, opened
    /// read-only once (for the key layout version and, with ``BackupJournalSequence/read(_:)``,
    /// the journal sequence), hashed file by file, fsynced with its manifest, and renamed into
    /// place. Hashing reads every byte of the store, so this takes about as long as reading
    /// it from the disk. Throws `busy` while another backup is created or pruned in this
    /// directory, and leaves nothing behind when it fails.
    public func create(
        of db: RocksDB, coordinatorVersion: String = TetherVersion.current,
        journalSequence: BackupJournalSequence = .none
    ) throws(StoreError) -> BackupManifest {
        try BackupFiles.createDirectory(directory)
        return try BackupDirectoryLock.withLock(in: directory) { () throws(StoreError) -> BackupManifest in
            let createdAt = BackupTime.now()
            let id = try newId(at: createdAt)
            let temporary = directory + "/" + Self.temporaryPrefix + id
            try BackupFiles.remove(temporary)
            try BackupFiles.createDirectory(temporary)
            do throws(StoreError) {
                let manifest = try build(
                    id: id, in: temporary, from: db, createdAt: createdAt, coordinatorVersion: coordinatorVersion,
                    journalSequence: journalSequence)
                try BackupFiles.move(temporary, to: path(of: id))
                try BackupFiles.synchronize(directory)
                return manifest
            } catch {
                try? BackupFiles.remove(temporary)
                throw error
            }
        }
    }

    /// A ULID for a backup created at `milliseconds`, sorting after every backup already here
    /// even if the clock went back.
    private func newId(at milliseconds: Int64) throws(StoreError) -> String {
        var time = milliseconds
        if let newest = try backupIds().last, let newestTime = Self.milliseconds(ofId: newest), newestTime >= time {
            time = newestTime + 1
        }
        var generator = IDGenerator()
        return generator.next(nowMilliseconds: time)
    }

    /// Takes the checkpoint into `temporary/db`, reads what the manifest says of it, hashes and
    /// fsyncs every file, and writes the manifest.
    private func build(
        id: String, in temporary: String, from db: RocksDB, createdAt: Int64, coordinatorVersion: String,
        journalSequence: BackupJournalSequence
    ) throws(StoreError) -> BackupManifest {
        let checkpoint = temporary + "/" + Self.databaseDirectoryName
        try db.createCheckpoint(at: checkpoint)
        let (keyLayoutVersion, sequence) = try Self.withReadOnlyDatabase(at: checkpoint) {
            copy throws(StoreError) -> (Int?, UInt64?) in
            let layout = try copy.get(KeyLayout.schemaKey).flatMap { Int(String(decoding: $0, as: UTF8.self)) }
            switch journalSequence {
            case .none: return (layout, nil)
            case .known(let sequence): return (layout, sequence)
            case .read(let read): return (layout, try read(copy))
            }
        }
        var files: [BackupManifest.File] = []
        for relative in try BackupFiles.regularFiles(under: checkpoint) {
            let path = checkpoint + "/" + relative
            let (bytes, sha256) = try BackupFiles.hash(path)
            try BackupFiles.synchronize(path)
            files.append(.init(path: Self.databaseDirectoryName + "/" + relative, bytes: bytes, sha256: sha256))
        }
        try BackupFiles.synchronize(checkpoint)
        let manifest = BackupManifest(
            id: id, createdAtMilliseconds: createdAt, coordinatorVersion: coordinatorVersion,
            keyLayoutVersion: keyLayoutVersion, journalSequence: sequence, files: files)
        try BackupFiles.writeNew(try manifest.encoded(), to: temporary + "/" + BackupManifest.fileName)
        try BackupFiles.synchronize(temporary)
        return manifest
    }

    // MARK: Reading

    /// Every complete backup, newest first. A directory without a readable manifest is left
    /// out (``verify(id:)`` says what is wrong with it); a missing backup directory has none.
    public func list() throws(StoreError) -> [BackupManifest] {
        try backupIds().reversed().compactMap { try? manifest(id: $0) }
    }

    /// The newest complete backup, or nil when there is none (what a new cluster node
    /// bootstraps from).
    public func latest() throws(StoreError) -> BackupManifest? {
        for id in try backupIds().reversed() {
            if let manifest = try? manifest(id: id) { return manifest }
        }
        return nil
    }

    /// The manifest of the backup `id`.
    ///
    /// Throws `invalid_argument` for an id that is not a ULID, `not_found` when there is no
    /// such backup, `corruption` when its manifest is missing, unreadable, names another id or
    /// lists a file outside `db/`.
    public func manifest(id: String) throws(StoreError) -> BackupManifest {
        guard IDGenerator.isValid(id) else {
            throw StoreError(
                code: StoreError.Code.invalidArgument,
                message: "'\(id)' is not a backup id (26 characters, as `tether backup list` shows them)")
        }
        let backup = path(of: id)
        guard BackupFiles.kind(of: backup) == .directory else {
            throw StoreError(code: StoreError.Code.notFound, message: "no backup \(id) in \(directory)")
        }
        let file = backup + "/" + BackupManifest.fileName
        guard let data = FileManager.default.contents(atPath: file) else {
            throw StoreError(
                code: StoreError.Code.corruption, message: "backup \(id) has no readable \(BackupManifest.fileName)")
        }
        let manifest = try BackupManifest.decode(data, from: file)
        guard manifest.id == id else {
            throw StoreError(
                code: StoreError.Code.corruption, message: "\(file) describes backup \(manifest.id), not \(id)")
        }
        for listed in manifest.files where !Self.isCheckpointPath(listed.path) {
            throw StoreError(
                code: StoreError.Code.corruption,
                message: "\(file) lists '\(listed.path)', which is not a file of the checkpoint")
        }
        return manifest
    }

    /// Whether `path` names a file inside `db/`: no empty, `.` or `..` component.
    private static func isCheckpointPath(_ path: String) -> Bool {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        return components.count >= 2 && components[0] == Substring(databaseDirectoryName)
            && components.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// The ids of the backup directories here, oldest first (complete or not).
    private func backupIds() throws(StoreError) -> [String] {
        guard BackupFiles.kind(of: directory) == .directory else { return [] }
        return try BackupFiles.entries(of: directory).filter {
            IDGenerator.isValid($0) && BackupFiles.kind(of: path(of: $0)) == .directory
        }
    }

    /// The time part of a ULID, in Unix milliseconds.
    static func milliseconds(ofId id: String) -> Int64? {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        var value: Int64 = 0
        for byte in id.utf8.prefix(10) {
            guard let digit = alphabet.firstIndex(of: byte) else { return nil }
            value = value << 5 | Int64(digit)
        }
        return value
    }

    // MARK: Verifying

    /// Checks the backup `id`: its files are exactly those of the manifest, each with its size
    /// and SHA-256; then opens the checkpoint read-only and reads every key with checksum
    /// verification on.
    ///
    /// Throws `corruption` for the first difference (a file missing, added, resized or changed;
    /// a block whose checksum fails), and the errors of ``manifest(id:)``. Reads the whole backup.
    public func verify(id: String) throws(StoreError) -> BackupVerification {
        try verified(id: id).verification
    }

    private func verified(id: String) throws(StoreError) -> (manifest: BackupManifest, verification: BackupVerification)
    {
        let manifest = try manifest(id: id)
        let backup = path(of: id)
        let present = Set(
            try BackupFiles.regularFiles(under: databasePath(of: id)).map { Self.databaseDirectoryName + "/" + $0 })
        let listed = Set(manifest.files.map(\.path))
        if let missing = listed.subtracting(present).min() {
            throw StoreError(code: StoreError.Code.corruption, message: "backup \(id): \(missing) is missing")
        }
        if let extra = present.subtracting(listed).min() {
            throw StoreError(code: StoreError.Code.corruption, message: "backup \(id): \(extra) is not in its manifest")
        }
        var total: Int64 = 0
        for file in manifest.files {
            let (bytes, sha256) = try BackupFiles.hash(backup + "/" + file.path)
            guard bytes == file.bytes else {
                throw StoreError(
                    code: StoreError.Code.corruption,
                    message: "backup \(id): \(file.path) has \(bytes) bytes; its manifest says \(file.bytes)")
            }
            guard sha256 == file.sha256 else {
                throw StoreError(
                    code: StoreError.Code.corruption,
                    message: "backup \(id): \(file.path) does not match its SHA-256 in the manifest")
            }
            total += bytes
        }
        guard total == manifest.totalBytes else {
            throw StoreError(
                code: StoreError.Code.corruption,
                message: "backup \(id): its files have \(total) bytes; its manifest says \(manifest.totalBytes)")
        }
        let keyCount: Int
        do throws(StoreError) {
            keyCount = try Self.withReadOnlyDatabase(at: databasePath(of: id)) { db throws(StoreError) in
                try db.verifyChecksums()
            }
        } catch {
            throw StoreError(code: error.code, message: "backup \(id): \(error.message)")
        }
        return (
            manifest,
            BackupVerification(id: id, fileCount: manifest.files.count, totalBytes: total, keyCount: keyCount)
        )
    }

    /// Options for opening a checkpoint: read-only, with a small cache.
    static var readOnlyOptions: RocksDB.Options {
        var options = RocksDB.Options()
        options.readOnly = true
        options.createIfMissing = false
        options.minFreeDiskBytes = 0
        options.blockCacheBytes = 8 * 1024 * 1024
        return options
    }

    /// Opens the checkpoint at `path` read-only for `body`, and closes it.
    static func withReadOnlyDatabase<R>(
        at path: String, _ body: (RocksDB) throws(StoreError) -> R
    ) throws(StoreError) -> R {
        let db = try RocksDB(path: path, options: readOnlyOptions)
        defer { db.close() }
        return try body(db)
    }

    // MARK: Restoring

    /// Verifies the backup `id` (as ``verify(id:)``), then copies its checkpoint into
    /// `target`, which becomes a data directory a coordinator opens as it would its own.
    ///
    /// `target` must not exist or be an empty directory (else code `already_exists`): a
    /// restore never overwrites data. The files are copied, never linked, into a staging
    /// directory, checked against the manifest again as they are written, and fsynced. A new
    /// `target` is then the staging directory (a sibling) renamed; an existing empty one (a
    /// mount point, say, which cannot be renamed over) gets the files moved in from a staging
    /// directory inside it, `CURRENT` last, so a database is never without one of its files.
    /// A failed restore leaves nothing (and an existing `target` empty).
    @discardableResult
    public func restore(id: String, into target: String) throws(StoreError) -> BackupVerification {
        let target = URL(fileURLWithPath: target).standardizedFileURL.path
        let targetExists: Bool
        switch BackupFiles.kind(of: target) {
        case .missing:
            targetExists = false
        case .directory:
            guard try BackupFiles.entries(of: target).isEmpty else {
                throw StoreError(
                    code: StoreError.Code.alreadyExists,
                    message: "\(target) is not empty; restore into a new (or empty) directory, never over data")
            }
            targetExists = true
        case .file, .other:
            throw StoreError(code: StoreError.Code.alreadyExists, message: "\(target) exists and is not a directory")
        }
        let (manifest, verification) = try verified(id: id)
        let parent = (target as NSString).deletingLastPathComponent
        let staging =
            targetExists
            ? target + "/.restore-" + UUID().uuidString
            : parent + "/." + (target as NSString).lastPathComponent + ".restore-" + UUID().uuidString
        try BackupFiles.createDirectory(staging)
        do throws(StoreError) {
            try copy(manifest, into: staging)
            if targetExists {
                let names = try BackupFiles.entries(of: staging).sorted {
                    ($0 == "CURRENT" ? 1 : 0) < ($1 == "CURRENT" ? 1 : 0)
                }
                for name in names {
                    try BackupFiles.move(staging + "/" + name, to: target + "/" + name)
                }
                try BackupFiles.remove(staging)
                try BackupFiles.synchronize(target)
            } else {
                try BackupFiles.move(staging, to: target)
                try BackupFiles.synchronize(parent)
            }
        } catch {
            if targetExists {
                for name in (try? BackupFiles.entries(of: target)) ?? [] {
                    try? BackupFiles.remove(target + "/" + name)
                }
            } else {
                try? BackupFiles.remove(staging)
            }
            throw error
        }
        return verification
    }

    /// Copies the checkpoint of `manifest` into `directory`, checks each copy against the
    /// manifest, and fsyncs the files and the directories.
    private func copy(_ manifest: BackupManifest, into directory: String) throws(StoreError) {
        var directories: Set<String> = [directory]
        for file in manifest.files {
            let relative = String(file.path.dropFirst(Self.databaseDirectoryName.count + 1))
            let destination = directory + "/" + relative
            let parent = (destination as NSString).deletingLastPathComponent
            if !directories.contains(parent) {
                try BackupFiles.createDirectory(parent)
                directories.insert(parent)
            }
            let copied = try BackupFiles.copy(path(of: manifest.id) + "/" + file.path, to: destination)
            guard copied.bytes == file.bytes, copied.sha256 == file.sha256 else {
                throw StoreError(
                    code: StoreError.Code.corruption,
                    message: "backup \(manifest.id): \(file.path) changed while it was restored")
            }
        }
        for directory in directories.sorted(by: >) { try BackupFiles.synchronize(directory) }
    }

    // MARK: Pruning

    /// Deletes every backup older than the `keep` newest complete ones, and what interrupted
    /// creates left behind (`.tmp-*`); returns the ids deleted, oldest first.
    ///
    /// A backup without a readable manifest that is newer than the oldest one kept is left for
    /// inspection. Each backup is renamed away before it is deleted, so a half-deleted one is
    /// never listed. `keep` must be at least 1 (`invalid_argument`); `busy` while a backup is
    /// created.
    @discardableResult
    public func prune(keep: Int) throws(StoreError) -> [String] {
        guard keep >= 1 else {
            throw StoreError(
                code: StoreError.Code.invalidArgument, message: "prune must keep at least 1 backup, not \(keep)")
        }
        guard BackupFiles.kind(of: directory) == .directory else { return [] }
        return try BackupDirectoryLock.withLock(in: directory) { () throws(StoreError) -> [String] in
            for name in try BackupFiles.entries(of: directory) where name.hasPrefix(Self.temporaryPrefix) {
                try BackupFiles.remove(directory + "/" + name)
            }
            let ids = try backupIds()
            let complete = ids.filter { (try? manifest(id: $0)) != nil }
            guard complete.count > keep else { return [] }
            let oldestKept = complete[complete.count - keep]
            let doomed = ids.filter { $0 < oldestKept }
            for id in doomed {
                let away = directory + "/" + Self.temporaryPrefix + id
                try BackupFiles.move(path(of: id), to: away)
                try BackupFiles.synchronize(directory)
                try BackupFiles.remove(away)
            }
            return doomed
        }
    }
}
