#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A child process started with `posix_spawn`, for the bench and the tests that kill coordinators
/// and workers.
///
/// Foundation's `Process.run()` on Linux walks the parent's open file descriptors while it builds
/// the child; with thousands of sockets opening and closing at that moment (a reconnect storm) it
/// crashed in `memcpy`. Here the child closes every descriptor above 2 itself
/// (`posix_spawn_file_actions_addclosefrom_np`), so nothing of the parent is inherited and
/// nothing is walked.
package final class SpawnedProcess: Sendable {
    package let processIdentifier: pid_t
    /// The exit status once reaped: `(exited, code or signal)`.
    private let ended = Mutex<(signalled: Bool, value: Int32)?>(nil)

    /// Starts `executable` with `arguments` and `environment`; standard output and error are
    /// appended to `outputPath`, or else standard output is discarded and standard error is this
    /// process's. Standard input is `/dev/null`.
    package init(executable: String, arguments: [String], environment: [String: String], outputPath: String?) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if outputPath != nil {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        guard let closeFrom = Self.addCloseFrom else {
            throw SpawnError(message: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later is needed)")
        }
        _ = closeFrom(&actions, 3)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard status == 0 else {
            throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        processIdentifier = pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not
    /// import (it is declared under `_GNU_SOURCE` only), looked up at run time.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        // RTLD_DEFAULT is a null handle on glibc.
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Whether the process has not exited yet (reaps it when it has).
    package var isRunning: Bool {
        if ended.withLock({ $0 != nil }) { return false }
        var status: Int32 = 0
        let result = waitpid(processIdentifier, &status, WNOHANG)
        if result == processIdentifier {
            record(status)
            return false
        }
        return result == 0
    }

    /// Blocks until the process exits.
    package func waitUntilExit() {
        while isRunning {
            var status: Int32 = 0
            if waitpid(processIdentifier, &status, 0) == processIdentifier {
                record(status)
                return
            }
        }
    }

    /// The exit code, or the signal number when a signal ended it (`terminatedBySignal`); -1 while running.
    package var terminationStatus: Int32 {
        _ = isRunning
        return ended.withLock { $0?.value ?? -1 }
    }

    package var terminatedBySignal: Bool {
        _ = isRunning
        return ended.withLock { $0?.signalled ?? false }
    }

    package func signal(_ signal: Int32) {
        kill(processIdentifier, signal)
    }

    private func record(_ status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions.
        let signal = status & 0x7f
        ended.withLock { $0 = signal == 0 ? (false, (status >> 8) & 0xff) : (true, signal) }
    }
}

package struct SpawnError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
