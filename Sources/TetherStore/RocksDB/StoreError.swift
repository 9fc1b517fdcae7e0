/// An error from the storage layer, with a stable code and a message for humans.
///
/// Codes are part of the contract (they reach the HTTP API's messages and the logs): a closed
/// set, ``Code``. Every RocksDB error string is converted with ``init(rocksDBStatus:)``.
public struct StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The stable code.
    public var code: Code
    /// What happened, for humans; for RocksDB errors, RocksDB's own status text.
    public var message: String

    /// Creates an error with a code and a message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The code and the message, as `code: message`.
    public var description: String { "\(code): \(message)" }

    /// The stable codes a ``StoreError`` carries, written as their raw values. Add new ones,
    /// never rename.
    public enum Code: String, Sendable, CaseIterable, CustomStringConvertible {
        /// A read or write failed at the file-system level.
        case ioError = "io_error"
        /// Stored data failed a checksum or could not be parsed.
        case corruption
        /// The disk is full (ENOSPC). Writes succeed again once space is freed and the
        /// database reopened (``RocksDB/reopen()``).
        case noSpace = "no_space"
        /// RocksDB rejected an argument or an option (including an unsupported compression).
        case invalidArgument = "invalid_argument"
        /// The database or the writer was closed before or during the call.
        case closed
        /// The data directory is locked by another process (or another open handle), or
        /// RocksDB asked to retry.
        case busy
        /// Anything else.
        case unknown
        /// Cluster mode: this node no longer holds the leader lease (another node took over, or
        /// the lease ran out), so the journal refused its commit. Nothing of it was acknowledged.
        case fenced
        /// Cluster mode: the journal (PostgreSQL) could not be reached or failed the commit; the
        /// commit may or may not be in the journal, and nothing of it was acknowledged.
        case journalUnavailable = "journal_unavailable"
        /// What was asked for does not exist (a backup id the catalog does not hold).
        case notFound = "not_found"
        /// The target of a restore exists and is not empty: a restore never overwrites data.
        case alreadyExists = "already_exists"
        /// The store was written with a key layout this release cannot read: a newer release's,
        /// or one older than any it migrates from (docs/operations.md, "Storage layout").
        case unsupportedLayout = "unsupported_layout"

        public var description: String { rawValue }
    }

    /// The error every call on a closed ``RocksDB`` or ``GroupCommitWriter`` throws.
    public static func closed(_ what: String) -> StoreError {
        StoreError(code: Code.closed, message: "\(what) is closed")
    }

    /// Classifies a RocksDB status string (the text a `char** errptr` receives).
    ///
    /// RocksDB's C API only exposes `Status::ToString()`, so the classification goes by the
    /// status prefix (`"IO error: "`, `"Corruption: "`, …) and a few well-known phrases.
    public init(rocksDBStatus status: String) {
        self.init(code: Self.classify(status), message: status)
        if code == Code.busy && Self.isLockError(status) {
            message = "the data directory is in use by another process (or already open in this one): \(status)"
        }
    }

    static func classify(_ status: String) -> Code {
        let lowered = status.lowercased()
        if lowered.contains("no space left on device") || status.contains("ENOSPC") {
            return Code.noSpace
        }
        if status.hasPrefix("Corruption") { return Code.corruption }
        if isLockError(status) { return Code.busy }
        if status.hasPrefix("Invalid argument") || status.hasPrefix("Not implemented") {
            return Code.invalidArgument
        }
        if status.hasPrefix("IO error") { return Code.ioError }
        if status.hasPrefix("Resource busy") || status.hasPrefix("Operation failed. Try again")
            || status.hasPrefix("Result incomplete")
        {
            return Code.busy
        }
        return Code.unknown
    }

    /// Whether the status is RocksDB failing to take the `LOCK` file of a data directory.
    static func isLockError(_ status: String) -> Bool {
        guard status.hasPrefix("IO error") else { return false }
        return status.contains("LOCK") || status.contains("lock file") || status.contains("lock hold")
    }
}
