import Foundation
import TetherEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small file helpers for key material: atomic writes with an exact mode, and reads with
/// errors that name the path.
enum SecureFile {
    static let ioError: ErrorCode = "io_error"

    /// Creates `path` (and its parents) with mode 0700 if it does not exist.
    static func createDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw TetherError(Self.ioError, "\(path) exists and is not a directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw TetherError(Self.ioError, "cannot create directory \(path): \(Self.reason(error))")
        }
    }

    /// Writes `contents` to `path` atomically (temporary file, fsync, rename) with exactly `mode`,
    /// so that a key file is never readable by others, not even for a moment.
    static func write(_ contents: String, to path: String, mode: mode_t) throws {
        let temporary = "\(path).tmp-\(UInt32.random(in: .min ... .max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw TetherError(Self.ioError, "cannot create \(temporary): \(Self.lastError())")
        }
        var succeeded = false
        defer {
            if !succeeded { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            // The umask may have removed bits; set the mode we asked for exactly.
            guard fchmod(fd, mode) == 0 else {
                throw TetherError(Self.ioError, "cannot set the mode of \(temporary): \(Self.lastError())")
            }
            let bytes = Array(contents.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { posixWrite(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw TetherError(Self.ioError, "cannot write \(temporary): \(Self.lastError())")
                }
                offset += written
            }
            guard fsync(fd) == 0 else {
                throw TetherError(Self.ioError, "cannot sync \(temporary): \(Self.lastError())")
            }
        }
        guard rename(temporary, path) == 0 else {
            throw TetherError(Self.ioError, "cannot write \(path): \(Self.lastError())")
        }
        succeeded = true
    }

    /// Reads a text file.
    static func read(_ path: String, what: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TetherError(Self.ioError, "cannot read the \(what) \(path): \(Self.reason(error))")
        }
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// A short reason for a Foundation file error ("No such file or directory"), not the whole NSError.
    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(nsError.code)))
        }
        return nsError.localizedDescription
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

/// `write(2)`, named apart from ``SecureFile/write(_:to:mode:)``.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
