import ArgumentParser
import TetherCoordinator
import TetherEngine
import TetherProtocol
import TetherStore

/// Flags shared by `dev` and `serve` (docs/operations.md).
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to bind the HTTP API and worker port to.")
    var host: String?

    @Option(name: .customLong("http-port"), help: "HTTP API and dashboard port (default \(DefaultPorts.http)).")
    var httpPort: Int?

    @Option(name: .customLong("worker-port"), help: "Worker TLS port (default \(DefaultPorts.worker)).")
    var workerPort: Int?

    @Option(name: .customLong("data"), help: "Data directory.")
    var data: String?

    @Option(
        name: .customLong("backups"),
        help: "Backup directory for POST /v1/admin/backups (dev: DATA/backups; serve: <data>-backups).")
    var backups: String?

    @Option(help: "strict (fsync every commit, the default) or relaxed (no fsync).")
    var durability: Durability?

    @Option(
        name: .customLong("max-concurrent-handshakes"),
        help: "Most worker handshakes at once (default 256); more connections queue before TLS.")
    var maxConcurrentHandshakes: Int?

    @Option(
        name: .customLong("retention"),
        help: "How long ended runs, their steps and unneeded events are kept (30s, 15m, 12h, 7d; default 7d).")
    var retention: String?

    /// The flags as `tether serve` applies them over its file.
    var flags: ServeFlags {
        ServeFlags(
            host: host, httpPort: httpPort, workerPort: workerPort, data: data, backups: backups,
            durability: durability, maxConcurrentHandshakes: maxConcurrentHandshakes, retention: retention)
    }

    /// `--retention` as a policy for `tether dev` (the default when it is not given).
    var retentionPolicy: RetentionPolicy {
        retention.flatMap(RetentionPolicy.parseDuration).map { RetentionPolicy(milliseconds: $0) } ?? .default
    }

    func validate() throws {
        if let limit = maxConcurrentHandshakes, !ServeFlags.handshakeLimits.contains(limit) {
            throw ValidationError("--max-concurrent-handshakes must be between 1 and 100000, got \(limit)")
        }
        if let retention, RetentionPolicy.parseDuration(retention) == nil {
            throw ValidationError("--retention must be \(RetentionPolicy.durationRule), got '\(retention)'")
        }
    }
}

extension Durability: ExpressibleByArgument {}
