import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TetherCoordinator
import TetherEngine
import TetherProtocol
import TetherStore

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
            current directory. /v1/* and /metrics need an API key; "metricsPublic": true opens
            /metrics to scrapers without one. "maxConcurrentHandshakes" (default 256) and
            "maxQueuedHandshakes" (default 8192) bound worker handshakes during reconnect storms;
            "maxPreHandshakeConnections" (default 8192) and "preHandshakeTimeoutMilliseconds"
            (default 10000) bound connections that have not sent their TLS ClientHello yet.
            "resumeGraceMilliseconds" (default 15000) is how long, after a restart, a step that was
            out on a worker waits for that worker to reconnect and resume it.
            """)

    @Option(help: "Path of the JSON configuration file.")
    var config: String

    @OptionGroup var server: ServerOptions

    struct File: Decodable {
        struct TLS: Decodable {
            var certificate: String
            var privateKey: String
        }
        var host: String?
        var httpPort: Int?
        var workerPort: Int?
        var data: String?
        var durability: String?
        var tls: TLS?
        var signingKeys: [String]?
        var signingKeyFiles: [String]?
        var apiKeys: [String]?
        var apiKeyFiles: [String]?
        var metricsPublic: Bool?
        var maxConcurrentHandshakes: Int?
        var maxQueuedHandshakes: Int?
        var maxPreHandshakeConnections: Int?
        var preHandshakeTimeoutMilliseconds: Int?
        var resumeGraceMilliseconds: Int?
    }

    func run() async throws {
        let file: File
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: config))
            file = try JSONDecoder().decode(File.self, from: data)
            let known: Set<String> = [
                "host", "httpPort", "workerPort", "data", "durability", "tls", "signingKeys", "signingKeyFiles", "apiKeys",
                "apiKeyFiles", "metricsPublic", "maxConcurrentHandshakes", "maxQueuedHandshakes",
                "maxPreHandshakeConnections", "preHandshakeTimeoutMilliseconds", "resumeGraceMilliseconds",
            ]
            if let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
                let unknown = Set(object.keys).subtracting(known)
                guard unknown.isEmpty else {
                    throw ValidationError(
                        "\(config): unknown setting(s) \(unknown.sorted().joined(separator: ", ")); known: \(known.sorted().joined(separator: ", "))")
                }
            }
        } catch let error as DecodingError {
            throw ValidationError("\(config): invalid configuration: \(error)")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("cannot read \(config): \(error.localizedDescription)")
        }
        let base = URL(fileURLWithPath: config).deletingLastPathComponent()
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
        }
        let environment = ProcessInfo.processInfo.environment

        var keyTexts = file.signingKeys ?? []
        for path in file.signingKeyFiles ?? [] {
            keyTexts.append(try String(contentsOfFile: resolve(path), encoding: .utf8))
        }
        if let fromEnv = environment["TETHER_SIGNING_KEY"], !fromEnv.isEmpty {
            keyTexts.append(contentsOf: fromEnv.split(separator: ",").map(String.init))
        }
        let keys = try keyTexts.map { text in
            do { return try SigningKey(parsing: text) } catch let error as TetherError {
                throw ValidationError("signing key: \(error.message)")
            }
        }
        guard !keys.isEmpty else {
            throw ValidationError("no signing key: set signingKeyFiles in \(config) or TETHER_SIGNING_KEY (tether keys generate)")
        }
        var apiKeys = file.apiKeys ?? []
        for path in file.apiKeyFiles ?? [] {
            apiKeys.append(try String(contentsOfFile: resolve(path), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if let fromEnv = environment["TETHER_API_KEYS"], !fromEnv.isEmpty {
            apiKeys.append(contentsOf: fromEnv.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        apiKeys.removeAll { $0.isEmpty }
        guard !apiKeys.isEmpty else {
            throw ValidationError("no API key: `tether serve` requires apiKeys/apiKeyFiles in \(config) or TETHER_API_KEYS")
        }
        guard let tls = file.tls else {
            throw ValidationError("\(config): \"tls\" with \"certificate\" and \"privateKey\" is required (tether certs generate)")
        }
        let dataDirectory: String
        if let flag = server.data {
            dataDirectory = URL(fileURLWithPath: flag).standardizedFileURL.path
        } else if let data = file.data {
            dataDirectory = resolve(data)
        } else {
            throw ValidationError("\(config): \"data\" (the data directory) is required")
        }

        var configuration = CoordinatorConfiguration(
            dataDirectory: dataDirectory, signingKeys: keys, tlsCertificatePath: resolve(tls.certificate),
            tlsPrivateKeyPath: resolve(tls.privateKey))
        configuration.host = server.host ?? file.host ?? "127.0.0.1"
        configuration.httpPort = server.httpPort ?? file.httpPort ?? 7420
        configuration.workerPort = server.workerPort ?? file.workerPort ?? 7421
        var durability = Durability.strict
        if let text = file.durability {
            guard let parsed = Durability(rawValue: text) else {
                throw ValidationError("\(config): durability must be strict or relaxed, got '\(text)'")
            }
            durability = parsed
        }
        configuration.durability = server.durability ?? durability
        configuration.apiKeys = apiKeys
        configuration.metricsPublic = file.metricsPublic ?? false
        configuration.checksInvariants = environment["TETHER_CHECK_INVARIANTS"] == "1"
        if let limit = file.maxConcurrentHandshakes {
            guard ServerOptions.handshakeLimits.contains(limit) else {
                throw ValidationError("\(config): maxConcurrentHandshakes must be between 1 and 100000, got \(limit)")
            }
            configuration.timing.maxConcurrentHandshakes = limit
        }
        if let limit = file.maxQueuedHandshakes {
            guard (0...1_000_000).contains(limit) else {
                throw ValidationError("\(config): maxQueuedHandshakes must be between 0 and 1000000, got \(limit)")
            }
            configuration.timing.maxQueuedHandshakes = limit
        }
        if let limit = file.maxPreHandshakeConnections {
            guard (1...1_000_000).contains(limit) else {
                throw ValidationError("\(config): maxPreHandshakeConnections must be between 1 and 1000000, got \(limit)")
            }
            configuration.timing.maxPreHandshakeConnections = limit
        }
        if let timeout = file.preHandshakeTimeoutMilliseconds {
            guard (100...600_000).contains(timeout) else {
                throw ValidationError("\(config): preHandshakeTimeoutMilliseconds must be between 100 and 600000, got \(timeout)")
            }
            configuration.preHandshakeTimeoutMilliseconds = timeout
        }
        if let grace = file.resumeGraceMilliseconds {
            guard (0...600_000).contains(grace) else {
                throw ValidationError("\(config): resumeGraceMilliseconds must be between 0 and 600000, got \(grace)")
            }
            configuration.timing.resumeGraceMilliseconds = grace
        }
        if let limit = server.maxConcurrentHandshakes { configuration.timing.maxConcurrentHandshakes = limit }

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
