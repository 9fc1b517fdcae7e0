import Foundation

/// An exclusive `flock(2)` on a backup directory's `.lock` file: one backup is created, or the
/// directory pruned, at a time, whichever process asks (the coordinator, `tether backup prune`).
///
/// A second caller is refused at once with code `busy` rather than queued. The lock goes with
/// the file descriptor, so a process that dies releases it.
enum BackupDirectoryLock {
    /// The lock file's name in the backup directory.
    static let fileName = ".lock"

    /// Runs `body` holding the lock of `directory` (which must exist).
    static func withLock<R>(in directory: String, _ body: () throws(StoreError) -> R) throws(StoreError) -> R {
        let path = directory + "/" + fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BackupFiles.error(errno, "cannot open \(path)") }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            if code == EWOULDBLOCK {
                throw StoreError(
                    code: StoreError.Code.busy,
                    message: "another backup is being created or pruned in \(directory); try again when it is done")
            }
            throw BackupFiles.error(code, "cannot lock \(path)")
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}
