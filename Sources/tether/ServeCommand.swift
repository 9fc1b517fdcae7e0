import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TetherCoordinator

/// `tether serve --config FILE`: the production coordinator.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a production coordinator from a JSON configuration file.",
        discussion: """
            The file is JSON (see docs/operations.md):
              {"host": "0.0.0.0", "httpPort": 7420, "workerPort": 7421, "data": "/var/lib/tether",
               "durability": "strict", "tls": {"certificate": "server.pem", "privateKey": "server-key.pem"},
               "signingKeyFiles": ["/etc/tether/signing-key"], "apiKeyFiles": ["/etc/tether/api-key"]}
            Relative paths in the file are relative to the file. Signing keys may also come from
            TETHER_SIGNING_KEY (comma-separated for rotation) and API keys from TETHER_API_KEYS
            (comma-separated). Flags override the file; a relative --data is relative to the
            current directory. "backups" (or --backups) is the backup directory of
            POST /v1/admin/backups (default: the data directory's path + "-backups"; see
            tether backup). /v1/* and /metrics need an API key; "metricsPublic": true opens
            /metrics to scrapers without one. "maxConcurrentHandshakes" (default 256) and
            "maxQueuedHandshakes" (default 8192) bound worker handshakes during reconnect storms;
            "maxPreHandshakeConnections" (default 8192) and "preHandshakeTimeoutMilliseconds"
            (default 10000) bound connections that have not sent their TLS ClientHello yet.
            "resumeGraceMilliseconds" (default 15000) is how long, after a restart, a step that was
            out on a worker waits for that worker to reconnect and resume it. "maxActiveRuns",
            "maxPendingEventRequests" and "maxUncommittedWriteBytes" bound what the coordinator
            takes before it answers 429 (backpressure). An unknown key, at the top or inside "tls",
            is an error that names it.
            Cluster mode (high availability): "journal" (a postgres:// URL; --journal or
            TETHER_JOURNAL), "nodeId" (--node-id), "advertise": {"http": "host:port", "worker":
            "host:port"}, "leaseMilliseconds" (default 3000), "leaseRenewMilliseconds" (default a
            third of the lease). See docs/operations.md, "High availability".
            """)

    @Option(help: "Path of the JSON configuration file.")
    var config: String

    @OptionGroup var server: ServerOptions

    @Option(help: "Cluster mode: the PostgreSQL journal, postgres://user:password@host:port/database (or TETHER_JOURNAL).")
    var journal: String?

    @Option(name: .customLong("node-id"), help: "Cluster mode: this node's id, unique in the cluster (default: the host name).")
    var nodeId: String?

    func run() async throws {
        let configuration: CoordinatorConfiguration
        do {
            var flags = server.flags
            flags.journal = journal
            flags.nodeId = nodeId
            configuration = try await .serve(
                configFile: config, flags: flags, environment: ProcessInfo.processInfo.environment)
        } catch let error as ServeConfigurationError {
            throw ValidationError(error.description)
        }
        let logger = CLILogging.makeLogger(label: "tether.serve")
        let coordinator = Coordinator(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                // A drain requested over HTTP ends the coordinator on its own: that is a clean exit.
                services: [.init(service: coordinator, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
