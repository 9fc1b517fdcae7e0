import Foundation

/// Refuses writes while the data directory's volume is nearly full.
///
/// RocksDB 7.8 cannot recover from a failed WAL write without a reopen, and the Debian
/// build keeps its assertions: a WAL or flush write that hits ENOSPC can abort the process
/// (`WritableFileWriter::AssertFalseAndGetStatusForPrevError`, fixed upstream in 9.x). So the
/// store stops writing while less than ``RocksDB/Options/minFreeDiskBytes`` is free, with code
/// `no_space`, and resumes by itself once space is freed.
///
/// `statvfs` is called at most every ``recheckIntervalNanoseconds``, or on every write once
/// the estimate of free space comes within ``nearLimitBytes`` of the reserve.
final class DiskSpaceGuard: Sendable {
    static let recheckIntervalNanoseconds: UInt64 = 100_000_000
    static let nearLimitBytes = 64 * 1024 * 1024

    let path: String
    let minFreeBytes: Int
    private let state = ConditionLock(State())

    private struct State: Sendable {
        var freeBytes = Int.max
        var checkedAtNanoseconds: UInt64 = 0
        /// Bytes admitted since `freeBytes` was measured.
        var admittedBytes = 0
        var everChecked = false
    }

    init(path: String, minFreeBytes: Int) {
        self.path = path
        self.minFreeBytes = minFreeBytes
    }

    /// Admits a write of about `byteCount` bytes, or throws `no_space`.
    func admit(byteCount: Int) throws(StoreError) {
        guard minFreeBytes > 0 else { return }
        let refused: Int? = state.withLock { state in
            let now = DispatchTime.now().uptimeNanoseconds
            let estimate = state.freeBytes == .max ? .max : state.freeBytes - state.admittedBytes
            if !state.everChecked || now &- state.checkedAtNanoseconds >= Self.recheckIntervalNanoseconds
                || estimate - byteCount < minFreeBytes + Self.nearLimitBytes
            {
                state.freeBytes = Self.freeBytes(at: path) ?? .max
                state.checkedAtNanoseconds = now
                state.admittedBytes = 0
                state.everChecked = true
            }
            let free = state.freeBytes == .max ? .max : state.freeBytes - state.admittedBytes
            guard free == .max || free - byteCount >= minFreeBytes else { return free }
            state.admittedBytes += byteCount
            return nil
        }
        if let refused {
            throw StoreError(
                code: StoreError.Code.noSpace,
                message: "only \(refused) bytes are free on the volume of \(path), below the reserve of "
                    + "\(minFreeBytes) bytes; writes resume once space is freed"
            )
        }
    }

    /// Free bytes available to this user on the volume holding `path`, or nil if unknown.
    static func freeBytes(at path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let (bytes, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow ? Int.max - 1 : Int(clamping: bytes)
    }
}
