import Foundation
import TetherProcess
import Tether
import TetherClient
import TetherCoordinator
import TetherProtocol

/// A program of this package run as a separate process (the `tether` CLI, the example
/// worker), with its output in a log file, so tests can kill it like a crash would.
final class ChildProcess: Sendable {
    let process: SpawnedProcess
    let logPath: String

    /// The directory holding this package's built executables (next to the test binary).
    static var binDirectory: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    static func executable(_ name: String) throws -> String {
        let path = binDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("\(path) is missing: build the package's executables first (swift build)")
        }
        return path
    }

    init(_ name: String, arguments: [String], environment: [String: String] = [:], logPath: String) throws {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        self.logPath = logPath
        // posix_spawn rather than Foundation's Process, which crashed while thousands of sockets
        // opened and closed around it (see SpawnedProcess).
        process = try SpawnedProcess(
            executable: try Self.executable(name), arguments: arguments, environment: env, outputPath: logPath)
    }

    var isRunning: Bool { process.isRunning }

    /// Sends `signal` and waits for the process to exit.
    func stop(signal: Int32 = SIGTERM) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        _ = await eventually(timeout: .seconds(30)) { !self.process.isRunning }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// Runs the `tether` CLI with `arguments` (and `environment` over this process's) to its end:
/// its exit status and its output, both streams. `directory` holds the output's file.
func runTether(
    _ arguments: [String], environment: [String: String] = [:], directory: TemporaryDirectory
) async throws -> (status: Int32, output: String) {
    let logPath = directory.path + "/cli-\(UUID().uuidString).log"
    let process = try ChildProcess("tether", arguments: arguments, environment: environment, logPath: logPath)
    _ = await eventually(timeout: .seconds(30)) { !process.isRunning }
    process.process.waitUntilExit()
    return (process.process.terminationStatus, process.log)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A `tether dev` coordinator in a child process.
struct ChildCoordinator {
    let process: ChildProcess
    let dataDirectory: String
    let httpPort: Int
    let workerPort: Int
    /// The dev signing key `tether dev` wrote (kept across restarts on the same data directory).
    let signingKey: String
    /// Started with `--https`: the HTTP port serves HTTPS with the dev CA's server certificate.
    var https = false

    /// The HTTP port's base URL.
    var httpURL: String { "\(https ? "https" : "http")://127.0.0.1:\(httpPort)" }
    /// The dev CA `tether dev` created: what clients of `--https` trust.
    var caFile: String { dataDirectory + "/tls/ca.pem" }

    static func start(
        dataDirectory: String, httpPort: Int, workerPort: Int, checksInvariants: Bool = false, logPath: String,
        https: Bool = false, extraArguments: [String] = [], environment: [String: String] = [:]
    ) async throws -> ChildCoordinator {
        let process = try ChildProcess(
            "tether",
            arguments: [
                "dev", "--data", dataDirectory, "--http-port", String(httpPort), "--worker-port", String(workerPort),
                "--durability", "strict",
            ] + (https ? ["--https"] : []) + extraArguments,
            // With `checksInvariants`, every scheduler invariant is checked after each command (a
            // walk of all state: not for tests with thousands of workers); a broken one stops the
            // coordinator with "Fatal error", which `brokeNoInvariant` looks for in its log.
            environment: ["TETHER_LOG_LEVEL": "info", "TETHER_CHECK_INVARIANTS": checksInvariants ? "1" : "0"].merging(
                environment, uniquingKeysWith: { _, given in given }),
            logPath: logPath)
        let up = try await eventually(timeout: .seconds(60)) {
            guard process.isRunning else { throw TestFailure("tether dev exited:\n\(process.log)") }
            // With --https, the CA exists once tether dev has created it.
            guard let client = try? client(httpPort: httpPort, https: https, dataDirectory: dataDirectory) else { return false }
            return (try? await client.request(.GET, "/healthz").status) == 200
        }
        guard up else { throw TestFailure("tether dev did not come up:\n\(process.log)") }
        return ChildCoordinator(
            process: process, dataDirectory: dataDirectory, httpPort: httpPort, workerPort: workerPort,
            signingKey: try SigningKey(contentsOfFile: dataDirectory + "/signing-key").text, https: https)
    }

    func client() throws -> TetherClient {
        try Self.client(httpPort: httpPort, https: https, dataDirectory: dataDirectory)
    }

    /// The coordinator's log shows no trap (a broken invariant, a failed precondition).
    var brokeNoInvariant: Bool { !process.log.contains("Fatal error") }

    static func client(httpPort: Int, https: Bool = false, dataDirectory: String = "") throws -> TetherClient {
        guard https else { return try TetherClient(url: "http://127.0.0.1:\(httpPort)") }
        return try TetherClient(url: "https://127.0.0.1:\(httpPort)", caCertificateFile: dataDirectory + "/tls/ca.pem")
    }

    /// Worker options for this coordinator, with the dev signing key and CA it created. They stay valid
    /// across restarts on the same data directory and ports.
    func workerOptions(instanceId: String, capacity: Int) throws -> WorkerOptions {
        var options = WorkerOptions(environment: [:])
        options.coordinator = "127.0.0.1:\(workerPort)"
        options.signingKey = signingKey
        options.caFile = dataDirectory + "/tls/ca.pem"
        options.instanceId = instanceId
        options.maxConcurrency = capacity
        return options
    }
}
