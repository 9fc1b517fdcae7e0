import Configuration

/// The keys of `tether serve`'s file (docs/operations.md); nested ones dotted.
enum ServeKeys {
    static let host = "host"
    static let httpPort = "httpPort"
    static let workerPort = "workerPort"
    static let data = "data"
    static let backups = "backups"
    static let durability = "durability"
    static let tlsCertificate = "tls.certificate"
    static let tlsPrivateKey = "tls.privateKey"
    static let httpTlsCertificate = "httpTls.certificate"
    static let httpTlsPrivateKey = "httpTls.privateKey"
    static let signingKeys = "signingKeys"
    static let signingKeyFiles = "signingKeyFiles"
    static let apiKeys = "apiKeys"
    static let apiKeyFiles = "apiKeyFiles"
    static let metricsPublic = "metricsPublic"
    static let maxConcurrentHandshakes = "maxConcurrentHandshakes"
    static let journal = "journal"
    static let nodeId = "nodeId"
    static let advertiseHTTP = "advertise.http"
    static let advertiseWorker = "advertise.worker"
    static let leaseMilliseconds = "leaseMilliseconds"
    static let leaseRenewMilliseconds = "leaseRenewMilliseconds"
    static let checkpointDirectory = "checkpoints.directory"
    static let checkpointIntervalSeconds = "checkpoints.intervalSeconds"
    static let checkpointKeep = "checkpoints.keep"
    static let otelEndpoint = "otel.endpoint"
    static let otelServiceName = "otel.serviceName"

    /// An integer key, the values it may take, and where it goes.
    struct Integer {
        let key: String
        let range: ClosedRange<Int>
        let property: WritableKeyPath<CoordinatorConfiguration, Int>
    }

    /// The integer keys; their defaults are the properties' own.
    static var integers: [Integer] {
        [
            Integer(key: httpPort, range: 0...65_535, property: \.httpPort),
            Integer(key: workerPort, range: 0...65_535, property: \.workerPort),
            Integer(key: maxConcurrentHandshakes, range: ServeFlags.handshakeLimits, property: \.timing.maxConcurrentHandshakes),
            Integer(key: "maxQueuedHandshakes", range: 0...1_000_000, property: \.timing.maxQueuedHandshakes),
            Integer(key: "maxPreHandshakeConnections", range: 1...1_000_000, property: \.timing.maxPreHandshakeConnections),
            Integer(key: "preHandshakeTimeoutMilliseconds", range: 100...600_000, property: \.preHandshakeTimeoutMilliseconds),
            Integer(key: "resumeGraceMilliseconds", range: 0...600_000, property: \.timing.resumeGraceMilliseconds),
            Integer(key: "maxActiveRuns", range: 1...Int.max, property: \.limits.maxActiveRuns),
            Integer(key: "maxPendingEventRequests", range: 1...Int.max, property: \.limits.maxPendingEventRequests),
            Integer(key: "maxUncommittedWriteBytes", range: 1...Int.max, property: \.limits.maxUncommittedWriteBytes),
        ]
    }

    /// Every key the file may hold.
    static var all: Set<String> {
        Set([
            host, data, backups, durability, tlsCertificate, tlsPrivateKey, httpTlsCertificate, httpTlsPrivateKey, signingKeys, signingKeyFiles, apiKeys,
            apiKeyFiles, metricsPublic, journal, nodeId, advertiseHTTP, advertiseWorker, leaseMilliseconds,
            leaseRenewMilliseconds, checkpointDirectory, checkpointIntervalSeconds, checkpointKeep, otelEndpoint,
            otelServiceName,
        ] + integers.map(\.key))
    }
}

/// Reads `serve`'s keys from the flags over the file. A key that is present is read with the
/// throwing variant, so a value of the wrong type stops `serve` with the key's name instead of
/// being taken as absent.
struct ServeSettings {
    let path: String
    let reader: ConfigReader
    /// The keys the flags or the file set.
    let present: Set<String>

    func string(_ key: String) throws -> String? {
        try read(key) { try reader.requiredString(forKey: ConfigKey(key)) }
    }

    func strings(_ key: String) throws -> [String]? {
        try read(key) { try reader.requiredStringArray(forKey: ConfigKey(key)) }
    }

    func bool(_ key: String) throws -> Bool? {
        try read(key) { try reader.requiredBool(forKey: ConfigKey(key)) }
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = try read(key, { try reader.requiredInt(forKey: ConfigKey(key)) }) else { return nil }
        guard range.contains(value) else {
            let message =
                range.upperBound == Int.max
                ? "must be a positive integer" : "must be between \(range.lowerBound) and \(range.upperBound)"
            throw ServeConfigurationError("\(path): \(key) \(message), got \(value)")
        }
        return value
    }

    private func read<Value>(_ key: String, _ value: () throws -> Value) throws -> Value? {
        guard present.contains(key) else { return nil }
        do {
            return try value()
        } catch {
            // swift-configuration's message names the key: "Config value for key 'httpPort' failed to convert to type int."
            throw ServeConfigurationError("\(path): invalid configuration: \(error)")
        }
    }
}
