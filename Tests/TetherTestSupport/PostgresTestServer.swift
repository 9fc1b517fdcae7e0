import Foundation
import Synchronization
import TetherProcess

/// The PostgreSQL the cluster-mode tests use as their journal.
///
/// `TETHER_TEST_POSTGRES` (a `postgres://` URL to a server where the tests may create
/// databases) when set, as `scripts/test.sh` does; otherwise a private cluster that
/// `scripts/postgres.sh` starts in a temporary directory on first use and stops when the test
/// process exits. Each test takes a database of its own (``freshDatabase()``).
public enum PostgresTestServer {
    private static let server = Mutex<Result<String, TestSetupError>?>(nil)
    nonisolated(unsafe) private static var ownedDirectory: String?

    /// The repository's root (this file is Tests/TetherTestSupport/PostgresTestServer.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The server's URL (its `postgres` database), starting a private one if needed.
    public static func url() throws -> String {
        try server.withLock { state in
            if let state { return try state.get() }
            let result: Result<String, TestSetupError>
            if let url = ProcessInfo.processInfo.environment["TETHER_TEST_POSTGRES"], !url.isEmpty {
                result = .success(url)
            } else {
                result = Result { () throws(TestSetupError) in try startPrivateServer() }
            }
            state = result
            return try result.get()
        }
    }

    /// A new, empty database on the server, for one test; its URL.
    public static func freshDatabase(_ label: String = "t") throws -> String {
        try createDatabase(on: try url(), label: label)
    }

    /// A new, empty database on the server at `base` (a URL to one of its databases); its URL.
    static func createDatabase(on base: String, label: String) throws -> String {
        let name = "\(label)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        _ = try run("/usr/bin/psql", [base, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
        guard var components = URLComponents(string: base) else { throw TestSetupError("bad URL \(base)") }
        components.path = "/\(name)"
        return components.string ?? base
    }

    private static func startPrivateServer() throws(TestSetupError) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-pg-\(UUID().uuidString)").path
        // A port no other test process is likely to pick: one per process id.
        let port = 20_000 + Int(getpid() % 20_000)
        let output = try run(repositoryRoot + "/scripts/postgres.sh", ["start", directory, String(port)])
        ownedDirectory = directory
        atexit {
            guard let directory = PostgresTestServer.ownedDirectory else { return }
            _ = try? PostgresTestServer.run(PostgresTestServer.repositoryRoot + "/scripts/postgres.sh", ["stop", directory])
            try? FileManager.default.removeItem(atPath: directory)
        }
        guard let url = output.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
            throw TestSetupError("scripts/postgres.sh printed no URL: \(output)")
        }
        return url
    }

    /// Runs a program to its end; its output (standard output and error together), or an error
    /// with it. posix_spawn and waitpid: Foundation's `Process.waitUntilExit` can hang when
    /// called from a test's task.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) throws(TestSetupError) -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("tether-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let process: SpawnedProcess
        do {
            process = try SpawnedProcess(
                executable: executable, arguments: arguments, environment: ProcessInfo.processInfo.environment,
                outputPath: outputPath)
        } catch {
            throw TestSetupError("cannot run \(executable): \(error)")
        }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw TestSetupError(
                "\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}

/// A test could not set up what it needs (a server, a tool).
public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
