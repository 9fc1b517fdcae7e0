import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TetherCluster
import TetherCoordinator
import TetherProtocol
import TetherTelemetry

/// `tether dev`: a coordinator on embedded defaults for a laptop.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a coordinator on embedded defaults: local RocksDB, self-signed TLS, a dev signing key.")

    @OptionGroup var server: ServerOptions

    @Option(help: "Cluster mode on this machine: a PostgreSQL journal, postgres://user@host:port/database.")
    var journal: String?

    @Option(name: .customLong("node-id"), help: "Cluster mode: this node's id (default dev).")
    var nodeId: String?

    @Flag(help: "Serve the API and dashboard over HTTPS only, with the dev CA's server certificate (DIR/tls).")
    var https = false

    func run() async throws {
        let host = server.host ?? "127.0.0.1"
        guard ["127.0.0.1", "::1", "localhost"].contains(host) else {
            throw ValidationError(
                "tether dev serves the API without authentication, so only on loopback (127.0.0.1, ::1); use tether serve for \(host)")
        }
        let directory = URL(fileURLWithPath: server.data ?? ".tether").standardizedFileURL.path
        let files = FileManager.default
        if !files.fileExists(atPath: directory + "/db"), files.fileExists(atPath: directory + "/CURRENT") {
            // Not a dev directory: a database itself (`tether serve`'s data, or a restore with --data).
            throw ValidationError(
                "\(directory) is a RocksDB database itself; tether dev keeps its database in DIR/db (restore into a dev "
                    + "directory with `tether backup restore ID --dir BACKUPS --dev DIR`, or run tether serve with this data directory)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tls = try DevCertificates.ensure(in: directory + "/tls")
        let keyPath = directory + "/signing-key"
        let key: SigningKey
        if FileManager.default.fileExists(atPath: keyPath) {
            key = try SigningKey(contentsOfFile: keyPath)
        } else {
            key = SigningKey.generate()
            try Files.writeSecret(key.text + "\n", to: keyPath)
        }

        var configuration = CoordinatorConfiguration(
            dataDirectory: directory + "/db", signingKeys: [key], tlsCertificatePath: tls.serverCertificatePath,
            tlsPrivateKeyPath: tls.serverKeyPath)
        configuration.backupDirectory =
            URL(fileURLWithPath: server.backups ?? directory + "/backups").standardizedFileURL.path
        configuration.host = host
        if https {
            // A generated dev server certificate names localhost, 127.0.0.1 and ::1, every host dev
            // allows; one put in its place may not.
            guard try DevCertificates.certificate(at: tls.serverCertificatePath, names: host) else {
                throw ValidationError(
                    "--https: \(tls.serverCertificatePath) does not name \(host), so clients could not check it; issue one "
                        + "that does with tether certs generate --out \(tls.directory) --overwrite")
            }
            configuration.httpTLS = HTTPTLSFiles(certificatePath: tls.serverCertificatePath, privateKeyPath: tls.serverKeyPath)
        }
        if let port = server.httpPort { configuration.httpPort = port }
        if let port = server.workerPort { configuration.workerPort = port }
        if let durability = server.durability { configuration.durability = durability }
        if let limit = server.maxConcurrentHandshakes { configuration.timing.maxConcurrentHandshakes = limit }
        configuration.retention = server.retentionPolicy
        configuration.checksInvariants = ProcessInfo.processInfo.environment["TETHER_CHECK_INVARIANTS"] == "1"
        do {
            configuration.tracing = try TracingSettings.resolve(
                serviceName: "tether", environment: ProcessInfo.processInfo.environment)
        } catch let error as TracingConfigurationError {
            throw ValidationError(error.description)
        }
        if let journal = journal ?? ProcessInfo.processInfo.environment["TETHER_JOURNAL"], !journal.isEmpty {
            do {
                configuration.cluster = ClusterConfiguration(
                    journal: try JournalURL(journal), nodeId: nodeId ?? "dev",
                    advertisedHTTP: "\(host):\(configuration.httpPort)", advertisedWorker: "\(host):\(configuration.workerPort)")
            } catch {
                throw ValidationError("--journal: \(error.message)")
            }
            configuration.nodeId = nodeId ?? "dev"
        }
        let backups = configuration.resolvedBackupDirectory
        let scheme = configuration.httpScheme
        let logger = CLILogging.makeLogger(label: "tether.dev")
        let coordinator = Coordinator(configuration: configuration, logger: logger)

        let group = ServiceGroup(
            configuration: .init(
                // A drain requested over HTTP ends the coordinator on its own: that is a clean exit.
                services: [.init(service: coordinator, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let endpoints = try await coordinator.waitUntilRunning()
                let base = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(endpoints.httpPort)"
                let event = #"{"name":"order/created","data":{"orderId":"o-1","amount":4200}}"#
                // With --https, clients trust the dev CA: the CLI through TETHER_CA_FILE, curl with --cacert.
                let sendHelp =
                    https
                    ? [
                        "  export TETHER_URL=\(base)", "  export TETHER_CA_FILE=\(tls.caCertificatePath)",
                        #"  tether send order/created --data '{"orderId":"o-1","amount":4200}'"#,
                        "or:", "  curl --cacert \(tls.caCertificatePath) -X POST \(base)/v1/events -d '\(event)'",
                    ].joined(separator: "\n") + "\n"
                    : "  curl -X POST \(base)/v1/events -d '\(event)'\n"
                FileHandle.standardOutput.write(Data(
                    """

                    Tether dev coordinator is running.
                      Dashboard:  \(base)/
                      HTTP API:   \(base)/v1\(https ? " (HTTPS only: the browser must trust \(tls.caCertificatePath))" : "")
                      Workers:    \(host):\(endpoints.workerPort) (TLS)
                      Data:       \(directory)
                      Backups:    \(backups)

                    Run a worker with:
                      export TETHER_COORDINATOR=\(host):\(endpoints.workerPort)
                      export TETHER_SIGNING_KEY=\(key.text)
                      export TETHER_CA_FILE=\(tls.caCertificatePath)
                      swift run tether-example

                    Send an event:
                    \(sendHelp)
                    """.utf8))
            }
            try await tasks.waitForAll()
        }
    }
}

enum Files {
    /// Writes `text` to `path` readable by the owner only.
    static func writeSecret(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ValidationError("cannot write \(path)")
        }
    }
}

enum CLILogging {
    static func makeLogger(label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = ProcessInfo.processInfo.environment["TETHER_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        return logger
    }
}
