import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One PostgreSQL connection, opened on first use and again after it failed.
///
/// Statements run with a deadline: when it passes, the connection is closed (which fails the
/// statement still waiting) and the call throws `journalUnavailable`. A stopped or unreachable
/// PostgreSQL therefore never holds a caller longer than its timeout.
actor PostgresLink {
    private let url: JournalURL
    private let name: String
    private let logger: Logger
    private var connection: PostgresConnection? {
        didSet { current.withLock { $0 = connection } }
    }
    /// The open connection, for callers on a thread that may block (``currentConnection``).
    private nonisolated let current = Mutex<PostgresConnection?>(nil)
    private var nextId = 0
    private var closed = false

    init(url: JournalURL, name: String, logger: Logger) {
        self.url = url
        self.name = name
        self.logger = logger
    }

    /// The open connection, connecting first when there is none.
    func open() async throws(ClusterError) -> PostgresConnection {
        if closed { throw ClusterError(.journalUnavailable, "the journal connection '\(name)' is closed") }
        if let connection, !connection.isClosed { return connection }
        nextId += 1
        do {
            let configuration = try url.connectionConfiguration()
            let opened = try await PostgresConnection.connect(configuration: configuration, id: nextId, logger: logger)
            if closed {
                try? await opened.close()
                throw ClusterError(.journalUnavailable, "the journal connection '\(name)' is closed")
            }
            connection = opened
            return opened
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.journalUnavailable, "cannot connect to the journal at \(url.redacted): \(Self.describe(error))")
        }
    }

    /// The connection, when one is open, read without waiting for the actor: for a thread that
    /// blocks on a statement's future (the leader's writer thread). Closing it (a deadline
    /// passed, say) is enough for the next ``open()`` to connect again.
    nonisolated var currentConnection: PostgresConnection? {
        current.withLock { connection in
            guard let connection, !connection.isClosed else { return nil }
            return connection
        }
    }

    /// Drops `failed` (if it is still the current connection), so the next call reconnects.
    func reset(_ failed: PostgresConnection) async {
        guard connection === failed else { return }
        connection = nil
        try? await failed.close()
    }

    /// Closes the connection for good.
    func close() async {
        closed = true
        if let connection {
            self.connection = nil
            try? await connection.close()
        }
    }

    /// Runs `body` on the connection within `timeout`.
    nonisolated func run<T: Sendable>(
        timeout: Duration, _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(ClusterError) -> T {
        let connection = try await open()
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body(connection) }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                guard let first = try await group.next(), let value = first else {
                    // The deadline passed first: closing fails the statement still waiting.
                    await self.reset(connection)
                    group.cancelAll()
                    throw ClusterError(.journalUnavailable, "\(what) took longer than \(timeout) at \(url.redacted)")
                }
                group.cancelAll()
                return value
            }
        } catch let error as ClusterError {
            throw error
        } catch {
            if connection.isClosed || !Self.keepsConnection(after: error) {
                await reset(connection)
            }
            throw ClusterError(.journalUnavailable, "\(what) failed at \(url.redacted): \(Self.describe(error))")
        }
    }

    /// Whether a connection stays usable after `error`: the server refused the statement (a
    /// constraint, say) and said so; any other failure may have left it half-way, so it is dropped.
    static func keepsConnection(after error: any Error) -> Bool {
        (error as? PSQLError)?.code == .server
    }

    /// A readable account of a PostgresNIO error (its default description hides the server's message).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            let code = error.serverInfo?[.sqlState] ?? ""
            return "\(message) (SQLSTATE \(code))"
        }
        return "\(error.code)"
    }
}
