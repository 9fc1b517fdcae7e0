import Testing

@testable import TetherStore

@Suite struct StoreErrorTests {
    @Test(arguments: [
        (
            "IO error: No space left on device: While appending to file: /d/000012.log: No space left on device",
            "no_space"
        ),
        ("IO error: While appending to file: /d/000012.log: errno ENOSPC", "no_space"),
        ("Corruption: block checksum mismatch: stored = 1, computed = 2", "corruption"),
        ("IO error: While lock file: /d/LOCK: Resource temporarily unavailable", "busy"),
        (
            "IO error: lock hold by current process, acquire time 1 acquiring thread 2: /d/LOCK: No locks available",
            "busy"
        ),
        ("Invalid argument: Compression type LZ4 is not linked with the binary.", "invalid_argument"),
        ("IO error: While open a file for appending: /d/000003.log: Permission denied", "io_error"),
        ("Resource busy: ", "busy"),
        ("Operation failed. Try again.: ", "busy"),
        ("Aborted: something else", "unknown"),
    ])
    func classifiesRocksDBStatus(status: String, code: String) {
        let error = StoreError(rocksDBStatus: status)
        #expect(error.code.rawValue == code)
        #expect(error.message.contains(status))
    }

    @Test func lockErrorsSayTheDirectoryIsInUse() {
        let error = StoreError(rocksDBStatus: "IO error: While lock file: /d/LOCK: Resource temporarily unavailable")
        #expect(error.message.contains("in use by another process"))
        #expect(error.description.hasPrefix("busy: "))
    }
}
