/// What ``BackupCatalog/verify(id:)`` checked in a backup that passed.
public struct BackupVerification: Sendable, Equatable {
    /// The backup's id.
    public var id: String
    /// Files checked against the manifest (size and SHA-256).
    public var fileCount: Int
    /// Their total size.
    public var totalBytes: Int64
    /// Keys read with checksum verification from the checkpoint, opened read-only.
    public var keyCount: Int

    public init(id: String, fileCount: Int, totalBytes: Int64, keyCount: Int) {
        self.id = id
        self.fileCount = fileCount
        self.totalBytes = totalBytes
        self.keyCount = keyCount
    }
}
