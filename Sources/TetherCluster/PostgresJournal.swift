import Logging
import NIOCore
import PostgresNIO

/// The cluster's shared state in PostgreSQL: the journal of commits and the leader lease.
///
/// Three tables, created on first use (``prepare()``):
/// - `tether_journal (seq, epoch, batch, written_at)`: one row per group commit of the leader,
///   `batch` being the commit's serialized RocksDB write batch.
/// - `tether_leader`: one row: the lease holder (node id), its epoch, the lease's expiry by the
///   database's clock, and the addresses the holder advertises.
/// - `tether_checkpoints`: checkpoints the leader took, by the journal sequence they contain.
///
/// Fencing: an append inserts its row only while the lease row names the writer, with its
/// epoch, unexpired, and takes a share lock on that row in the same statement. A takeover
/// updates the row, so it waits for appends in progress and every later append of the old
/// epoch inserts nothing: once a node holds the lease, no earlier leader can commit.
///
/// Each kind of work has its own connection, so a slow append never delays a lease renewal.
public final class PostgresJournal: Sendable {
    public let url: JournalURL
    let logger: Logger
    private let appends: PostgresLink
    private let control: PostgresLink
    /// How long one statement may take before its connection is dropped.
    let statementTimeout: Duration

    /// The notification channel appends signal on.
    static let channel = "tether_journal"

    public init(url: JournalURL, statementTimeout: Duration = .seconds(2), logger: Logger) {
        self.url = url
        self.logger = logger
        self.statementTimeout = statementTimeout
        self.appends = PostgresLink(url: url, name: "appends", logger: logger)
        self.control = PostgresLink(url: url, name: "control", logger: logger)
    }

    /// Closes every connection.
    public func close() async {
        await appends.close()
        await control.close()
    }

    /// Creates the tables when they are missing (any node may, at any time: idempotent).
    ///
    /// Nodes that start together take turns, under a transaction-scoped advisory lock: two
    /// concurrent `CREATE TABLE IF NOT EXISTS` of one table can fail one of them with a duplicate
    /// key in PostgreSQL's catalog (`pg_type_typname_nsp_index`), which cost that node a retry
    /// a second later and an error in its log.
    public func prepare() async throws(ClusterError) {
        _ = try await control.run(timeout: .seconds(10), "creating the journal's tables") { connection in
            try await connection.query("BEGIN", logger: connection.logger)
            do {
                let lock: PostgresQuery = "SELECT pg_advisory_xact_lock(\(Self.prepareLockKey))"
                try await connection.query(lock, logger: connection.logger)
                // One statement per call: the extended protocol takes no multi-statement strings.
                for statement in Self.schema {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: connection.logger)
                }
                try await connection.query("COMMIT", logger: connection.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: connection.logger)
                throw error
            }
            return true
        }
    }

    /// The advisory lock ``prepare()`` holds while it creates the tables ("tether" in ASCII).
    static let prepareLockKey: Int64 = 0x74_65_74_68_65_72

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS tether_journal (
            seq bigint PRIMARY KEY,
            epoch bigint NOT NULL,
            batch bytea NOT NULL,
            written_at timestamptz NOT NULL DEFAULT clock_timestamp())
        """,
        """
        CREATE TABLE IF NOT EXISTS tether_leader (
            id int PRIMARY KEY CHECK (id = 1),
            holder text NOT NULL,
            epoch bigint NOT NULL,
            expires_at timestamptz NOT NULL,
            http text NOT NULL DEFAULT '',
            worker text NOT NULL DEFAULT '')
        """,
        "INSERT INTO tether_leader (id, holder, epoch, expires_at) VALUES (1, '', 0, 'epoch') ON CONFLICT (id) DO NOTHING",
        """
        CREATE TABLE IF NOT EXISTS tether_checkpoints (
            id text PRIMARY KEY,
            seq bigint NOT NULL,
            node text NOT NULL,
            path text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp())
        """,
    ]

    // MARK: The lease

    /// Takes the lease for `nodeId` when it is free (expired) or already names `nodeId` (this
    /// node restarted), with the next epoch; nil while another node holds it.
    public func acquireLease(
        nodeId: String, ttlMilliseconds: Int64, http: String, worker: String
    ) async throws(ClusterError) -> UInt64? {
        try await control.run(timeout: statementTimeout, "taking the leader lease") { connection in
            let rows = try await connection.query(
                """
                UPDATE tether_leader SET holder = \(nodeId), epoch = epoch + 1,
                    expires_at = clock_timestamp() + \(ttlMilliseconds) * interval '1 millisecond',
                    http = \(http), worker = \(worker)
                WHERE id = 1 AND (expires_at <= clock_timestamp() OR holder = \(nodeId))
                RETURNING epoch
                """, logger: connection.logger)
            var epoch: Int64?
            for try await value in rows.decode(Int64.self) { epoch = value }
            return epoch.map { [UInt64($0)] } ?? []
        }.first
    }

    /// Extends the lease `nodeId` holds with `epoch` by `ttlMilliseconds` from now; false when
    /// it no longer holds it (another node took over, or it ran out).
    public func renewLease(nodeId: String, epoch: UInt64, ttlMilliseconds: Int64) async throws(ClusterError) -> Bool {
        try await control.run(timeout: statementTimeout, "renewing the leader lease") { connection in
            let rows = try await connection.query(
                """
                UPDATE tether_leader SET expires_at = clock_timestamp() + \(ttlMilliseconds) * interval '1 millisecond'
                WHERE id = 1 AND holder = \(nodeId) AND epoch = \(Int64(epoch)) AND expires_at > clock_timestamp()
                RETURNING epoch
                """, logger: connection.logger)
            var renewed = false
            for try await _ in rows.decode(Int64.self) { renewed = true }
            return renewed
        }
    }

    /// Gives the lease up at once (a graceful stop), so a standby need not wait for it to run out.
    public func releaseLease(nodeId: String, epoch: UInt64) async throws(ClusterError) {
        _ = try await control.run(timeout: statementTimeout, "releasing the leader lease") { connection in
            try await connection.query(
                """
                UPDATE tether_leader SET expires_at = clock_timestamp()
                WHERE id = 1 AND holder = \(nodeId) AND epoch = \(Int64(epoch))
                """, logger: connection.logger)
            return true
        }
    }

    /// The lease as the database sees it now.
    public func leader() async throws(ClusterError) -> LeaderRecord {
        try await control.run(timeout: statementTimeout, "reading the leader lease") { connection in
            let rows = try await connection.query(
                """
                SELECT holder, epoch, (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::bigint, http, worker
                FROM tether_leader WHERE id = 1
                """, logger: connection.logger)
            var record = LeaderRecord(nodeId: "", epoch: 0, remainingMilliseconds: 0, http: "", worker: "")
            for try await (holder, epoch, remaining, http, worker) in rows.decode((String, Int64, Int64, String, String).self) {
                record = LeaderRecord(
                    nodeId: holder, epoch: UInt64(epoch), remainingMilliseconds: remaining, http: http, worker: worker)
            }
            return record
        }
    }

    // MARK: The journal

    /// Appends one commit as `sequence` if `nodeId` still holds the lease with `epoch`; false
    /// when it does not (fenced: nothing was written).
    public func append(sequence: UInt64, epoch: UInt64, nodeId: String, batch: [UInt8]) async throws(ClusterError) -> Bool {
        let query = Self.appendQuery(sequence: sequence, epoch: epoch, nodeId: nodeId, batch: batch)
        return try await appends.run(timeout: statementTimeout, "appending to the journal") { connection in
            let rows = try await connection.query(query, logger: connection.logger)
            var written = false
            for try await _ in rows { written = true }
            return written
        }
    }

    /// ``append(sequence:epoch:nodeId:batch:)`` from a thread that may block (never an event
    /// loop's, nor the cooperative pool's): the statement goes out on the open appends connection
    /// and the thread waits for its future, without a hop through Swift concurrency, which the
    /// leader's writer pays once per group commit. nil when no connection is open (the caller
    /// then takes the async path, which connects). Past the deadline the connection is closed,
    /// which fails the statement: the next append connects again.
    public func appendWaiting(sequence: UInt64, epoch: UInt64, nodeId: String, batch: [UInt8]) -> Result<Bool, ClusterError>? {
        guard let connection = appends.currentConnection else { return nil }
        let query = Self.appendQuery(sequence: sequence, epoch: epoch, nodeId: nodeId, batch: batch)
        let future = connection.query(query, logger: connection.logger)
        let deadline = connection.eventLoop.scheduleTask(in: TimeAmount(statementTimeout)) {
            let _: EventLoopFuture<Void> = connection.close()
        }
        do {
            let result = try future.wait()
            deadline.cancel()
            return .success(result.rows.count > 0)
        } catch {
            deadline.cancel()
            if !PostgresLink.keepsConnection(after: error) { let _: EventLoopFuture<Void> = connection.close() }
            return .failure(ClusterError(.journalUnavailable, "appending to the journal failed at \(url.redacted): \(PostgresLink.describe(error))"))
        }
    }

    /// The append statement: one row if `nodeId` holds the lease with `epoch`, unexpired.
    static func appendQuery(sequence: UInt64, epoch: UInt64, nodeId: String, batch: [UInt8]) -> PostgresQuery {
        let bytes = ByteBuffer(bytes: batch)
        return """
            WITH lease AS (
                SELECT 1 FROM tether_leader
                WHERE id = 1 AND holder = \(nodeId) AND epoch = \(Int64(epoch)) AND expires_at > clock_timestamp()
                FOR SHARE),
            entry AS (
                INSERT INTO tether_journal (seq, epoch, batch)
                SELECT \(Int64(sequence)), \(Int64(epoch)), \(bytes) FROM lease RETURNING seq)
            SELECT pg_notify('\(unescaped: Self.channel)', seq::text) FROM entry
            """
    }

    /// Up to `limit` entries after `sequence`, in order.
    public func entries(after sequence: UInt64, limit: Int) async throws(ClusterError) -> [JournalEntry] {
        try await control.run(timeout: .seconds(30), "reading the journal") { connection in
            let rows = try await connection.query(
                "SELECT seq, epoch, batch FROM tether_journal WHERE seq > \(Int64(sequence)) ORDER BY seq LIMIT \(limit)",
                logger: connection.logger)
            var entries: [JournalEntry] = []
            for try await (seq, epoch, batch) in rows.decode((Int64, Int64, ByteBuffer).self) {
                entries.append(JournalEntry(sequence: UInt64(seq), epoch: UInt64(epoch), batch: Array(buffer: batch)))
            }
            return entries
        }
    }

    /// The journal's first and last sequences (0 and 0 when it is empty).
    public func bounds() async throws(ClusterError) -> (first: UInt64, last: UInt64) {
        let values = try await control.run(timeout: statementTimeout, "reading the journal's bounds") { connection in
            let rows = try await connection.query(
                "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM tether_journal", logger: connection.logger)
            var bounds = [Int64(0), Int64(0)]
            for try await (first, last) in rows.decode((Int64, Int64).self) { bounds = [first, last] }
            return bounds
        }
        return (UInt64(values[0]), UInt64(values[1]))
    }

    /// Deletes the entries below `sequence` (they are in a checkpoint every node can start from);
    /// returns how many. Callers keep the checkpoint's own entry, so the journal never ends up
    /// empty and its last sequence never goes back.
    public func trim(below sequence: UInt64) async throws(ClusterError) -> Int {
        try await control.run(timeout: .seconds(30), "trimming the journal") { connection in
            let rows = try await connection.query(
                "WITH gone AS (DELETE FROM tether_journal WHERE seq < \(Int64(sequence)) RETURNING 1) SELECT count(*) FROM gone",
                logger: connection.logger)
            var count: Int64 = 0
            for try await value in rows.decode(Int64.self) { count = value }
            return Int(count)
        }
    }

    // MARK: Checkpoints

    /// Records a checkpoint the leader took: `path` is its directory (a backup, with its
    /// manifest), `sequence` the last journal entry it contains.
    public func recordCheckpoint(_ checkpoint: CheckpointRecord) async throws(ClusterError) {
        _ = try await control.run(timeout: statementTimeout, "recording a checkpoint") { connection in
            try await connection.query(
                """
                INSERT INTO tether_checkpoints (id, seq, node, path)
                VALUES (\(checkpoint.id), \(Int64(checkpoint.sequence)), \(checkpoint.nodeId), \(checkpoint.path))
                ON CONFLICT (id) DO NOTHING
                """, logger: connection.logger)
            return true
        }
    }

    /// The recorded checkpoints, newest (highest sequence) first.
    public func checkpoints() async throws(ClusterError) -> [CheckpointRecord] {
        try await control.run(timeout: statementTimeout, "reading the checkpoints") { connection in
            let rows = try await connection.query(
                "SELECT id, seq, node, path FROM tether_checkpoints ORDER BY seq DESC, id DESC", logger: connection.logger)
            var records: [CheckpointRecord] = []
            for try await (id, seq, node, path) in rows.decode((String, Int64, String, String).self) {
                records.append(CheckpointRecord(id: id, sequence: UInt64(seq), nodeId: node, path: path))
            }
            return records
        }
    }

    /// Forgets the checkpoints `ids` (their directories were deleted).
    public func forgetCheckpoints(_ ids: [String]) async throws(ClusterError) {
        guard !ids.isEmpty else { return }
        _ = try await control.run(timeout: statementTimeout, "forgetting checkpoints") { connection in
            try await connection.query("DELETE FROM tether_checkpoints WHERE id = ANY(\(ids))", logger: connection.logger)
            return true
        }
    }

    /// Calls `onAppend` whenever the leader appends (a notification), until the task is
    /// cancelled or the connection fails (then it throws). A missed notification costs only
    /// latency: callers also poll.
    public func listenForAppends(_ onAppend: @escaping @Sendable () -> Void) async throws(ClusterError) {
        let link = PostgresLink(url: url, name: "listen", logger: logger)
        defer { Task { await link.close() } }
        let connection = try await link.open()
        do {
            try await connection.listen(on: Self.channel) { notifications in
                for try await _ in notifications { onAppend() }
            }
        } catch {
            try? await connection.close()
            if Task.isCancelled { return }
            throw ClusterError(.journalUnavailable, "listening for appends failed: \(PostgresLink.describe(error))")
        }
    }
}

/// The leader lease as the database holds it.
public struct LeaderRecord: Sendable, Equatable {
    /// The holder's node id; empty before any node led.
    public var nodeId: String
    public var epoch: UInt64
    /// Milliseconds until it runs out (negative once it did), by the database's clock.
    public var remainingMilliseconds: Int64
    /// The addresses the holder advertises: HTTP API and worker listener (`host:port`).
    public var http: String
    public var worker: String

    public init(nodeId: String, epoch: UInt64, remainingMilliseconds: Int64, http: String, worker: String) {
        self.nodeId = nodeId
        self.epoch = epoch
        self.remainingMilliseconds = remainingMilliseconds
        self.http = http
        self.worker = worker
    }

    /// Whether a node holds the lease now.
    public var isHeld: Bool { !nodeId.isEmpty && remainingMilliseconds > 0 }
}

/// A checkpoint of the leader's store, as `tether_checkpoints` records it.
public struct CheckpointRecord: Sendable, Equatable {
    /// The backup's id (a ULID), also the name of its directory.
    public var id: String
    /// The last journal entry the checkpoint contains.
    public var sequence: UInt64
    /// The node that took it.
    public var nodeId: String
    /// Its directory, as that node saw it: the checkpoint directory, shared by the nodes, plus the id.
    public var path: String

    public init(id: String, sequence: UInt64, nodeId: String, path: String) {
        self.id = id
        self.sequence = sequence
        self.nodeId = nodeId
        self.path = path
    }
}

/// One commit in the journal.
public struct JournalEntry: Sendable, Equatable {
    public var sequence: UInt64
    public var epoch: UInt64
    /// The commit's serialized RocksDB write batch.
    public var batch: [UInt8]
}
