import Configuration
import Foundation
import SystemPackage
import TetherCluster
import TetherEngine
import TetherProtocol
import TetherStore
import TetherTelemetry

/// The flags of `tether serve` that override its file; nil where a flag was not given.
public struct ServeFlags: Sendable {
    public var host: String?
    public var httpPort: Int?
    public var workerPort: Int?
    /// Relative to the current directory, unlike `data` in the file.
    public var data: String?
    /// The backup directory; relative to the current directory, unlike `backups` in the file.
    public var backups: String?
    public var durability: Durability?
    public var maxConcurrentHandshakes: Int?
    /// Cluster mode: the journal's URL (`--journal`).
    public var journal: String?
    /// Cluster mode: this node's id (`--node-id`).
    public var nodeId: String?
    /// `--retention`: one window for ended runs and events (`7d`), over the file's `retention`.
    public var retention: String?

    /// The values `maxConcurrentHandshakes` may take, as a flag or in the file.
    public static let handshakeLimits = 1...100_000

    public init(
        host: String? = nil, httpPort: Int? = nil, workerPort: Int? = nil, data: String? = nil, backups: String? = nil,
        durability: Durability? = nil, maxConcurrentHandshakes: Int? = nil, journal: String? = nil, nodeId: String? = nil
    ) {
        self.journal = journal
        self.nodeId = nodeId
        self.host = host
        self.httpPort = httpPort
        self.workerPort = workerPort
        self.data = data
        self.backups = backups
        self.durability = durability
        self.maxConcurrentHandshakes = maxConcurrentHandshakes
    }

    /// The flags above with `--retention` too.
    public init(
        host: String? = nil, httpPort: Int? = nil, workerPort: Int? = nil, data: String? = nil, backups: String? = nil,
        durability: Durability? = nil, maxConcurrentHandshakes: Int? = nil, journal: String? = nil, nodeId: String? = nil,
        retention: String?
    ) {
        self.init(
            host: host, httpPort: httpPort, workerPort: workerPort, data: data, backups: backups, durability: durability,
            maxConcurrentHandshakes: maxConcurrentHandshakes, journal: journal, nodeId: nodeId)
        self.retention = retention
    }
}

/// Bad input to `tether serve`: the message names the file and the key.
public struct ServeConfigurationError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

extension CoordinatorConfiguration {
    /// The configuration `tether serve --config path` runs with (docs/operations.md): its flags
    /// over its file, signing and API keys from the environment added to the file's. Every value
    /// neither sets keeps this type's default, so the defaults live in one place.
    ///
    /// Throws ``ServeConfigurationError`` for a missing, unknown or invalid key, and the file
    /// system's error for an unreadable key file.
    public static func serve(
        configFile path: String, flags: ServeFlags = ServeFlags(), environment: [String: String]
    ) async throws -> CoordinatorConfiguration {
        let file = try await readFile(path)
        let unknown = file.keys.subtracting(ServeKeys.all)
        guard unknown.isEmpty else {
            throw ServeConfigurationError(
                "\(path): unknown setting(s) \(unknown.sorted().joined(separator: ", ")); known: \(ServeKeys.all.sorted().joined(separator: ", "))")
        }
        let flagged = flagValues(flags)
        let flagProvider = InMemoryProvider(
            name: "flags",
            values: Dictionary(uniqueKeysWithValues: flagged.map { (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue($0.value, isSecret: false)) }))
        let settings = ServeSettings(
            path: path, reader: ConfigReader(providers: [flagProvider, file.provider]),
            present: file.keys.union(flagged.keys))
        let variables = ConfigReader(
            provider: EnvironmentVariablesProvider(
                environmentVariables: environment, secretsSpecifier: .specific(["TETHER_SIGNING_KEY", "TETHER_API_KEYS", "TETHER_JOURNAL"]))
        ).scoped(to: "tether")

        // The plain values first, so a bad one is reported before a missing key or key file.
        let host = try settings.string(ServeKeys.host)
        let durability = try settings.string(ServeKeys.durability).map { text in
            guard let durability = Durability(rawValue: text) else {
                throw ServeConfigurationError("\(path): durability must be strict or relaxed, got '\(text)'")
            }
            return durability
        }
        let metricsPublic = try settings.bool(ServeKeys.metricsPublic)
        let tracing: TracingSettings?
        do {
            tracing = try TracingSettings.resolve(
                endpoint: try settings.string(ServeKeys.otelEndpoint),
                serviceName: try settings.string(ServeKeys.otelServiceName) ?? "tether", environment: environment)
        } catch let error as TracingConfigurationError {
            throw ServeConfigurationError("\(path): otel: \(error.description)")
        }
        var retention = RetentionPolicy.default
        for (key, property) in [
            (ServeKeys.retentionRuns, \RetentionPolicy.runsMilliseconds), (ServeKeys.retentionEvents, \RetentionPolicy.eventsMilliseconds),
        ] {
            guard let text = try settings.string(key) else { continue }
            guard let milliseconds = RetentionPolicy.parseDuration(text) else {
                let source = flags.retention != nil ? "--retention" : "\(path): \(key)"
                throw ServeConfigurationError("\(source) must be \(RetentionPolicy.durationRule), got '\(text)'")
            }
            retention[keyPath: property] = milliseconds
        }
        let integers = try ServeKeys.integers.compactMap { bound in
            try settings.int(bound.key, in: bound.range).map { (bound.apply, $0) }
        }
        let heartbeatJitter = try settings.double(ServeKeys.heartbeatJitter, in: ServeKeys.heartbeatJitterRange)

        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
        }

        var keyTexts = try settings.strings(ServeKeys.signingKeys) ?? []
        for keyFile in try settings.strings(ServeKeys.signingKeyFiles) ?? [] {
            keyTexts.append(try String(contentsOfFile: resolve(keyFile), encoding: .utf8))
        }
        // TETHER_SIGNING_KEY: comma-separated, for rotation.
        keyTexts.append(contentsOf: (variables.stringArray(forKey: "signingKey", isSecret: true) ?? []).filter { !$0.isEmpty })
        let signingKeys = try keyTexts.map { text in
            do { return try SigningKey(parsing: text) } catch let error as TetherError {
                throw ServeConfigurationError("signing key: \(error.message)")
            }
        }
        guard !signingKeys.isEmpty else {
            throw ServeConfigurationError("no signing key: set signingKeyFiles in \(path) or TETHER_SIGNING_KEY (tether keys generate)")
        }
        var apiKeys = try settings.strings(ServeKeys.apiKeys) ?? []
        for keyFile in try settings.strings(ServeKeys.apiKeyFiles) ?? [] {
            apiKeys.append(try String(contentsOfFile: resolve(keyFile), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // TETHER_API_KEYS: comma-separated, each trimmed by the provider.
        apiKeys.append(contentsOf: variables.stringArray(forKey: "apiKeys", isSecret: true) ?? [])
        apiKeys.removeAll { $0.isEmpty }
        guard !apiKeys.isEmpty else {
            throw ServeConfigurationError("no API key: `tether serve` requires apiKeys/apiKeyFiles in \(path) or TETHER_API_KEYS")
        }
        guard let certificate = try settings.string(ServeKeys.tlsCertificate),
            let privateKey = try settings.string(ServeKeys.tlsPrivateKey)
        else {
            throw ServeConfigurationError("\(path): \"tls\" with \"certificate\" and \"privateKey\" is required (tether certs generate)")
        }
        let httpTLS = try httpTLSFiles(settings: settings, path: path, resolve: resolve)
        let dataDirectory: String
        if let flag = flags.data {
            dataDirectory = URL(fileURLWithPath: flag).standardizedFileURL.path
        } else if let data = try settings.string(ServeKeys.data) {
            dataDirectory = resolve(data)
        } else {
            throw ServeConfigurationError("\(path): \"data\" (the data directory) is required")
        }

        var configuration = CoordinatorConfiguration(
            dataDirectory: dataDirectory, signingKeys: signingKeys, tlsCertificatePath: resolve(certificate),
            tlsPrivateKeyPath: resolve(privateKey))
        if let flag = flags.backups {
            configuration.backupDirectory = URL(fileURLWithPath: flag).standardizedFileURL.path
        } else if let backups = try settings.string(ServeKeys.backups) {
            configuration.backupDirectory = resolve(backups)
        }
        configuration.apiKeys = apiKeys
        configuration.httpTLS = httpTLS
        if let host { configuration.host = host }
        if let durability { configuration.durability = durability }
        if let metricsPublic { configuration.metricsPublic = metricsPublic }
        configuration.tracing = tracing
        configuration.retention = retention
        for (apply, value) in integers { apply(&configuration, value) }
        if let heartbeatJitter { configuration.timing.heartbeatJitter = heartbeatJitter }
        try ServeRelations.check(configuration, path: path)
        configuration.checksInvariants = variables.string(forKey: "checkInvariants") == "1"
        configuration.cluster = try clusterConfiguration(
            settings: settings, path: path, flags: flags, journalVariable: variables.string(forKey: "journal", isSecret: true),
            configuration: configuration, resolve: resolve)
        if let nodeId = configuration.cluster?.nodeId { configuration.nodeId = nodeId }
        return configuration
    }

    /// The HTTP port's certificate and key (`httpTls`), loaded once here so that a missing or bad
    /// file stops `serve` with its key's name; nil without `httpTls` (plain HTTP).
    private static func httpTLSFiles(
        settings: ServeSettings, path: String, resolve: (String) -> String
    ) throws -> HTTPTLSFiles? {
        let certificate = try settings.string(ServeKeys.httpTlsCertificate)
        let privateKey = try settings.string(ServeKeys.httpTlsPrivateKey)
        guard certificate != nil || privateKey != nil else { return nil }
        guard let certificate, let privateKey else {
            let missing = certificate == nil ? ServeKeys.httpTlsCertificate : ServeKeys.httpTlsPrivateKey
            throw ServeConfigurationError(
                "\(path): \(missing) is required with \"httpTls\" (HTTPS needs both a certificate and its private key)")
        }
        let files = HTTPTLSFiles(certificatePath: resolve(certificate), privateKeyPath: resolve(privateKey))
        for (key, file) in [(ServeKeys.httpTlsCertificate, files.certificatePath), (ServeKeys.httpTlsPrivateKey, files.privateKeyPath)]
        where !FileManager.default.isReadableFile(atPath: file) {
            let reason = FileManager.default.fileExists(atPath: file) ? "not readable" : "no such file"
            throw ServeConfigurationError("\(path): \(key): cannot read \(file) (\(reason))")
        }
        do {
            _ = try files.makeServerConfiguration()
        } catch let error as TetherError {
            throw ServeConfigurationError("\(path): httpTls: \(error.message)")
        }
        return files
    }

    /// Cluster mode's settings, when a journal is set (`--journal`, then `TETHER_JOURNAL`, then
    /// the file's `journal`); nil for a single node. Without a journal, the cluster keys are refused.
    private static func clusterConfiguration(
        settings: ServeSettings, path: String, flags: ServeFlags, journalVariable: String?,
        configuration: CoordinatorConfiguration, resolve: (String) -> String
    ) throws -> ClusterConfiguration? {
        let fileJournal = try settings.string(ServeKeys.journal)
        guard let text = [flags.journal, journalVariable, fileJournal].compactMap({ $0 }).first(where: { !$0.isEmpty }) else {
            let clusterKeys = [
                ServeKeys.nodeId, ServeKeys.advertiseHTTP, ServeKeys.advertiseWorker, ServeKeys.leaseMilliseconds,
                ServeKeys.leaseRenewMilliseconds, ServeKeys.checkpointDirectory, ServeKeys.checkpointIntervalSeconds,
                ServeKeys.checkpointKeep,
            ].filter { settings.present.contains($0) }
            if !clusterKeys.isEmpty {
                throw ServeConfigurationError(
                    "\(path): \(clusterKeys.joined(separator: ", ")) only apply with a journal (cluster mode); set \"journal\"")
            }
            return nil
        }
        let url: JournalURL
        do {
            url = try JournalURL(text)
        } catch {
            throw ServeConfigurationError("\(path): journal: \(error.message)")
        }
        let nodeId = try settings.string(ServeKeys.nodeId) ?? ProcessInfo.processInfo.hostName
        guard Self.isValidNodeId(nodeId) else {
            throw ServeConfigurationError(
                "\(path): nodeId must be 1 to 64 letters, digits, '.', '_' or '-', got '\(nodeId)'")
        }
        // Without advertised addresses, the bound ones; a wildcard host stands for this machine's name.
        let reachableHost =
            ["0.0.0.0", "::", ""].contains(configuration.host) ? ProcessInfo.processInfo.hostName : configuration.host
        let advertisedHTTP = try settings.string(ServeKeys.advertiseHTTP) ?? "\(reachableHost):\(configuration.httpPort)"
        let advertisedWorker = try settings.string(ServeKeys.advertiseWorker) ?? "\(reachableHost):\(configuration.workerPort)"
        for (key, address) in [(ServeKeys.advertiseHTTP, advertisedHTTP), (ServeKeys.advertiseWorker, advertisedWorker)] {
            guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
                let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port)
            else {
                throw ServeConfigurationError(
                    "\(path): \(key) must be host:port with a port from 1 to 65535, got '\(address)' "
                        + "(cluster nodes need fixed ports: set httpPort and workerPort)")
            }
        }
        var cluster = ClusterConfiguration(
            journal: url, nodeId: nodeId, advertisedHTTP: advertisedHTTP, advertisedWorker: advertisedWorker)
        if let lease = try settings.int(ServeKeys.leaseMilliseconds, in: 1_000...60_000) {
            cluster.leaseMilliseconds = Int64(lease)
            cluster.renewIntervalMilliseconds = Int64(lease / 3)
        }
        if let renew = try settings.int(ServeKeys.leaseRenewMilliseconds, in: 100...30_000) {
            guard Int64(renew) * 2 <= cluster.leaseMilliseconds else {
                throw ServeConfigurationError(
                    "\(path): leaseRenewMilliseconds (\(renew)) must be at most half of leaseMilliseconds (\(cluster.leaseMilliseconds))")
            }
            cluster.renewIntervalMilliseconds = Int64(renew)
        }
        cluster.checkpointDirectory = try settings.string(ServeKeys.checkpointDirectory).map(resolve)
        if let seconds = try settings.int(ServeKeys.checkpointIntervalSeconds, in: 0...604_800) {
            cluster.checkpointIntervalMilliseconds = Int64(seconds) * 1_000
        }
        if let keep = try settings.int(ServeKeys.checkpointKeep, in: 1...1_000) { cluster.checkpointKeep = keep }
        return cluster
    }

    /// Node ids: what a log line, a metric label and a lease row can carry as they are.
    static func isValidNodeId(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }

    private static func readFile(_ path: String) async throws -> (provider: FileProvider<ServeFileSnapshot>, keys: Set<String>) {
        let provider: FileProvider<ServeFileSnapshot>
        do {
            provider = try await FileProvider(filePath: FilePath(path))
        } catch let error as ServeFileSnapshot.ParseError {
            throw ServeConfigurationError("\(path): invalid configuration: \(error.underlying)")
        } catch {
            throw ServeConfigurationError("cannot read \(path): \(error)")
        }
        guard let snapshot = provider.snapshot() as? ServeFileSnapshot else {
            preconditionFailure("a FileProvider<ServeFileSnapshot> holds a ServeFileSnapshot")
        }
        return (provider, snapshot.keys)
    }

    /// The flags, under the file's key names (`data` and `backups` are resolved apart, against
    /// the current directory).
    private static func flagValues(_ flags: ServeFlags) -> [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        values[ServeKeys.host] = flags.host.map { .string($0) }
        values[ServeKeys.httpPort] = flags.httpPort.map { .int($0) }
        values[ServeKeys.workerPort] = flags.workerPort.map { .int($0) }
        values[ServeKeys.durability] = flags.durability.map { .string($0.rawValue) }
        values[ServeKeys.maxConcurrentHandshakes] = flags.maxConcurrentHandshakes.map { .int($0) }
        values[ServeKeys.nodeId] = flags.nodeId.map { .string($0) }
        values[ServeKeys.retentionRuns] = flags.retention.map { .string($0) }
        values[ServeKeys.retentionEvents] = flags.retention.map { .string($0) }
        return values
    }
}
