import Foundation
import Synchronization

/// A PostgreSQL server of one test's own, which the test may stop and start again (the shared
/// one of ``PostgresTestServer`` must stay up for the others): a cluster in a temporary
/// directory `tether-pg-restart-*`, always on the same port and data directory, run by
/// `scripts/postgres.sh`. ``remove()`` stops it and deletes the directory; a test process that
/// exits without doing so stops it at exit.
public final class PrivatePostgresServer: Sendable {
    public enum StopMode: String, Sendable {
        /// Sessions are ended and a checkpoint written (`pg_ctl stop -m fast`).
        case fast
        /// As a crash: every process quits at once; the next start recovers from the WAL.
        case immediate
    }

    public let directory: String
    public let port: Int
    /// The server's `postgres` database.
    public let url: String

    /// Directories of servers not yet removed, stopped at exit.
    private static let running = Mutex<Set<String>>([])
    private static let stopsAtExit: Void = {
        atexit {
            for directory in PrivatePostgresServer.running.withLock({ $0 }) {
                _ = try? PostgresTestServer.run(
                    PostgresTestServer.repositoryRoot + "/scripts/postgres.sh", ["stop", directory])
            }
        }
    }()

    /// Creates and starts a server on 127.0.0.1:`port`.
    public init(port: Int) throws {
        _ = Self.stopsAtExit
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tether-pg-restart-\(UUID().uuidString)"
        ).path
        self.directory = directory
        self.port = port
        Self.running.withLock { _ = $0.insert(directory) }
        let output = try Self.script(["start", directory, String(port)])
        guard let url = output.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
            throw TestSetupError("scripts/postgres.sh printed no URL: \(output)")
        }
        self.url = url
    }

    /// A new, empty database; its URL.
    public func freshDatabase(_ label: String = "t") throws -> String {
        try PostgresTestServer.createDatabase(on: url, label: label)
    }

    /// Stops the server; returns once it is down.
    public func stop(_ mode: StopMode = .fast) throws {
        try Self.script(["stop", directory, mode.rawValue])
    }

    /// Starts it again, on the same port and data directory; returns once it accepts connections.
    public func start() throws {
        try Self.script(["start", directory, String(port)])
    }

    /// Stops the server and deletes its directory.
    public func remove() {
        _ = try? stop()
        Self.running.withLock { _ = $0.remove(directory) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    private static func script(_ arguments: [String]) throws -> String {
        try PostgresTestServer.run(PostgresTestServer.repositoryRoot + "/scripts/postgres.sh", arguments)
    }
}
