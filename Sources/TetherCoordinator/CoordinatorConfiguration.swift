import Foundation
import TetherEngine
import TetherProtocol
import TetherStore
import TetherTelemetry

/// Everything a coordinator needs to start.
///
/// Its property defaults (with ``Limits`` and ``ProtocolTiming``) are the only copy of the
/// coordinator's defaults: `tether dev` and `tether serve` change only what a flag, the file or
/// the environment sets.
public struct CoordinatorConfiguration: Sendable {
    /// Address the HTTP API and the worker port bind to.
    public var host: String = "127.0.0.1"
    /// The scheduler's clock in Unix milliseconds: the wall clock. Tests may shift it (say, to just before a
    /// cron tick); it must advance at the real rate, since leases and heartbeats are measured with it.
    public var clock: @Sendable () -> Int64 = { WallClock.nowMilliseconds() }
    /// HTTP API and dashboard port; 0 picks a free port (tests).
    public var httpPort: Int = DefaultPorts.http
    /// Worker (TLS) port; 0 picks a free port (tests).
    public var workerPort: Int = DefaultPorts.worker
    /// Host the worker listener binds to; nil means `host`.
    public var workerHost: String?
    /// RocksDB directory.
    public var dataDirectory: String
    /// Where `POST /v1/admin/backups` writes backups (``BackupCatalog``); nil means
    /// ``defaultBackupDirectory``. `tether dev` uses `DIR/backups`; `tether serve` the file's
    /// `backups` or `--backups`.
    public var backupDirectory: String?
    public var durability: Durability = .strict
    /// Keys a worker may prove in its handshake (rotation: old and new at once).
    public var signingKeys: [SigningKey]
    /// PEM files of the worker listener's certificate chain and private key.
    public var tlsCertificatePath: String
    public var tlsPrivateKeyPath: String
    /// The HTTP port's certificate and key: with them it serves HTTPS only (TLS 1.2 or later),
    /// without them plain HTTP (`httpTls` in `tether serve`'s file, `tether dev --https`).
    public var httpTLS: HTTPTLSFiles?
    /// Bearer tokens accepted on `/v1/*`; empty means no authentication (`tether dev`).
    public var apiKeys: [String] = []
    /// Serve `GET /metrics` without an API key even when `apiKeys` is set, so a Prometheus
    /// server needs no token (`metricsPublic` in `tether serve`'s file). `/healthz` and
    /// `/readyz` are always open.
    public var metricsPublic: Bool = false
    public var limits: Limits = .default
    public var timing: ProtocolTiming = .default
    public var retry: RetryPolicy = RetryPolicy()
    /// How long ended runs and unneeded events are kept (docs/operations.md, "Retention").
    public var retention: RetentionPolicy = .default
    /// How long a worker has to answer the challenge.
    public var handshakeTimeoutMilliseconds: Int = 10_000
    /// How long a new worker connection may take to send its whole first TLS record (the
    /// ClientHello), counted from accept; one that has not is closed without ever holding a
    /// handshake slot.
    public var preHandshakeTimeoutMilliseconds: Int = 10_000
    /// How often `GET /v1/workers` samples each worker's capacity and in-flight steps (it keeps 120).
    public var workerHistoryIntervalMilliseconds: Int64 = 5_000
    /// Check every scheduler invariant after each command, stopping the process on the first
    /// broken one (`TETHER_CHECK_INVARIANTS=1` for `tether dev` and `tether serve`): for tests
    /// and debugging, as each check walks the whole scheduler state.
    public var checksInvariants: Bool = false
    /// Version string reported in status and the challenge.
    public var version: String = TetherVersion.current
    /// Cluster mode (a journal in PostgreSQL, a leader and standbys); nil for a single node.
    public var cluster: ClusterConfiguration?
    /// OpenTelemetry tracing of events, runs, dispatches, sleeps and waits; nil (the default) is
    /// off and costs nothing.
    public var tracing: TracingSettings?
    /// The tracer for ``tracing``, started by ``Coordinator/run()`` (which runs its exporter).
    var tracer: TetherTracing?
    /// This node's id in `GET /v1/cluster` when it runs alone (a cluster node's is in ``cluster``).
    public var nodeId: String = ProcessInfo.processInfo.hostName
    /// How long workers get to reconnect when the coordinator stops (each at a random moment
    /// within it), unless a drain request asked for another window.
    public var reconnectWindowMilliseconds: UInt32 = 5_000
    /// While this coordinator leads a cluster: its journal and its node's state. Set by the node.
    var leaderTerm: LeaderTerm?

    /// The backup directory in use: ``backupDirectory``, or else ``defaultBackupDirectory``.
    public var resolvedBackupDirectory: String {
        backupDirectory ?? defaultBackupDirectory
    }

    /// Where a cluster's leader takes its scheduled checkpoints: `checkpoints.directory`, or
    /// else `checkpoints` inside the backup directory (nil without a cluster).
    public var resolvedCheckpointDirectory: String? {
        cluster.map(checkpointDirectory(of:))
    }

    /// `cluster`'s checkpoint directory, or else `checkpoints` inside the backup directory.
    func checkpointDirectory(of cluster: ClusterConfiguration) -> String {
        cluster.checkpointDirectory ?? resolvedBackupDirectory + "/checkpoints"
    }

    /// `<dataDirectory>-backups`: beside the data directory, so on the same file system as a
    /// rule (RocksDB then hard-links the SST files instead of copying them), but never inside
    /// it. `/var/lib/tether` backs up into `/var/lib/tether-backups`.
    public var defaultBackupDirectory: String {
        var data = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        while data.count > 1 && data.hasSuffix("/") { data.removeLast() }
        return (data == "/" ? "" : data) + "-backups"
    }

    public init(
        dataDirectory: String, signingKeys: [SigningKey], tlsCertificatePath: String, tlsPrivateKeyPath: String
    ) {
        self.dataDirectory = dataDirectory
        self.signingKeys = signingKeys
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsPrivateKeyPath = tlsPrivateKeyPath
    }
}
