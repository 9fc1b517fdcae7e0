import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file-system work of backups, on POSIX calls: hashing, copying, fsyncing and renaming.
///
/// Every failure is a ``StoreError``: `no_space` for ENOSPC, `io_error` otherwise, with the
/// path and `strerror` in the message.
enum BackupFiles {
    /// What is at a path, without following a symbolic link.
    enum Kind: Equatable {
        case missing, file, directory, other
    }

    /// The bytes read or written per system call.
    static let chunkBytes = 1 << 20

    static func kind(of path: String) -> Kind {
        var status = stat()
        guard lstat(path, &status) == 0 else { return .missing }
        switch status.st_mode & mode_t(S_IFMT) {
        case mode_t(S_IFREG): return .file
        case mode_t(S_IFDIR): return .directory
        default: return .other
        }
    }

    /// The names in a directory (without `.` and `..`), sorted.
    static func entries(of directory: String) throws(StoreError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw StoreError(code: StoreError.Code.ioError, message: "cannot read the directory \(directory): \(error)")
        }
    }

    /// The regular files under `root`, as sorted paths relative to it; anything else that is
    /// not a directory (a symbolic link, a socket) is refused with code `corruption`.
    static func regularFiles(under root: String) throws(StoreError) -> [String] {
        var files: [String] = []
        func walk(_ relative: String) throws(StoreError) {
            let absolute = relative.isEmpty ? root : root + "/" + relative
            for name in try entries(of: absolute) {
                let child = relative.isEmpty ? name : relative + "/" + name
                switch kind(of: root + "/" + child) {
                case .file: files.append(child)
                case .directory: try walk(child)
                case .missing: break
                case .other:
                    throw StoreError(
                        code: StoreError.Code.corruption, message: "\(root)/\(child) is not a regular file")
                }
            }
        }
        try walk("")
        return files.sorted()
    }

    /// Creates `path` and its missing parents.
    static func createDirectory(_ path: String) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError(code: StoreError.Code.ioError, message: "cannot create the directory \(path): \(error)")
        }
    }

    /// Removes `path` and everything under it; a missing path is not an error.
    static func remove(_ path: String) throws(StoreError) {
        guard kind(of: path) != .missing else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw StoreError(code: StoreError.Code.ioError, message: "cannot remove \(path): \(error)")
        }
    }

    /// Renames with rename(2): atomic, and it replaces an empty directory at `destination`.
    static func move(_ source: String, to destination: String) throws(StoreError) {
        guard rename(source, destination) == 0 else {
            let code = errno
            if code == ENOTEMPTY || code == EEXIST {
                throw StoreError(
                    code: StoreError.Code.alreadyExists,
                    message: "cannot rename \(source) to \(destination): it exists and is not empty")
            }
            throw error(code, "cannot rename \(source) to \(destination)")
        }
    }

    /// Makes a file's data, or a directory's entries, durable.
    static func synchronize(_ path: String) throws(StoreError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw error(errno, "cannot open \(path) to fsync it") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw error(errno, "cannot fsync \(path)") }
    }

    /// The size and SHA-256 (lowercase hex) of a file, read in chunks.
    static func hash(_ path: String) throws(StoreError) -> (bytes: Int64, sha256: String) {
        let source = open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw error(errno, "cannot open \(path)") }
        defer { close(source) }
        return try stream(from: source, path: path) { _ throws(StoreError) in }
    }

    /// Copies a file to a new file (never over an existing one), fsyncs the copy, and returns
    /// the size and SHA-256 of what it wrote.
    static func copy(_ sourcePath: String, to destinationPath: String) throws(StoreError) -> (
        bytes: Int64, sha256: String
    ) {
        let source = open(sourcePath, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw error(errno, "cannot open \(sourcePath)") }
        defer { close(source) }
        let destination = open(destinationPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard destination >= 0 else { throw error(errno, "cannot create \(destinationPath)") }
        defer { close(destination) }
        let result = try stream(from: source, path: sourcePath) { chunk throws(StoreError) in
            try writeAll(chunk, to: destination, path: destinationPath)
        }
        guard fsync(destination) == 0 else { throw error(errno, "cannot fsync \(destinationPath)") }
        return result
    }

    /// Writes `data` to a new file and fsyncs it.
    static func writeNew(_ data: Data, to path: String) throws(StoreError) {
        let destination = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard destination >= 0 else { throw error(errno, "cannot create \(path)") }
        defer { close(destination) }
        let written = data.withUnsafeBytes { bytes in
            Result { () throws(StoreError) in try writeAll(bytes, to: destination, path: path) }
        }
        try written.get()
        guard fsync(destination) == 0 else { throw error(errno, "cannot fsync \(path)") }
    }

    /// Reads `source` to its end, hashing every chunk and handing it to `body`.
    private static func stream(
        from source: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws(StoreError) -> Void
    ) throws(StoreError) -> (bytes: Int64, sha256: String) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            let count = read(source, buffer.baseAddress, chunkBytes)
            if count < 0 {
                if errno == EINTR { continue }
                throw error(errno, "cannot read \(path)")
            }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hasher.update(bufferPointer: chunk)
            try body(chunk)
            total += Int64(count)
        }
        return (total, hex(hasher.finalize()))
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws(StoreError)
    {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw error(errno, "cannot write \(path)")
            }
            offset += written
        }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The error of a failed system call: `no_space` for ENOSPC, else `io_error`.
    static func error(_ code: Int32, _ what: String) -> StoreError {
        let reason = String(cString: strerror(code))
        return StoreError(
            code: code == ENOSPC ? StoreError.Code.noSpace : StoreError.Code.ioError, message: "\(what): \(reason)")
    }
}
