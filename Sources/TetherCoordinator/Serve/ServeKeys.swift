import Configuration
import TetherEngine

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
    static let retentionRuns = "retention.runs"
    static let retentionEvents = "retention.events"

    static let heartbeatJitter = "timing.heartbeatJitter"
    /// The values `timing.heartbeatJitter` may take: a fraction of the interval.
    static let heartbeatJitterRange = 0.0...0.5

    /// An integer key, the values it may take, and where it goes.
    struct Integer {
        let key: String
        let range: ClosedRange<Int>
        /// Writes a value read from the file (or a flag) into the configuration.
        let apply: (inout CoordinatorConfiguration, Int) -> Void

        init(key: String, range: ClosedRange<Int>, property: WritableKeyPath<CoordinatorConfiguration, Int>) {
            self.key = key
            self.range = range
            apply = { $0[keyPath: property] = $1 }
        }

        init(key: String, range: ClosedRange<Int>, property: WritableKeyPath<CoordinatorConfiguration, Int64>) {
            self.key = key
            self.range = range
            apply = { $0[keyPath: property] = Int64($1) }
        }

        init(key: String, range: ClosedRange<Int>, property: WritableKeyPath<CoordinatorConfiguration, UInt32>) {
            precondition(range.lowerBound >= 0 && range.upperBound <= Int(UInt32.max))
            self.key = key
            self.range = range
            apply = { $0[keyPath: property] = UInt32($1) }
        }
    }

    /// A mebibyte and a day, for the ranges below.
    private static let mebibyte = 1_024 * 1_024
    private static let day = 86_400_000

    /// The integer keys; their defaults are the properties' own. A limit the Swift SDK also
    /// checks, with its own default, may only be lowered: above that default, workers would
    /// refuse what the coordinator accepts.
    static var integers: [Integer] {
        let sdk = Limits.default
        return [
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

            // limits.*: what one event, request, frame, step, run, worker and timer may be.
            Integer(key: "limits.maxFrameBytes", range: 65_536...256 * mebibyte, property: \.limits.maxFrameBytes),
            Integer(key: "limits.maxEventBytes", range: 1_024...1_024 * mebibyte, property: \.limits.maxEventBytes),
            Integer(key: "limits.maxRequestBodyBytes", range: 1_024...1_024 * mebibyte, property: \.limits.maxRequestBodyBytes),
            Integer(key: "limits.maxStepOutputBytes", range: 1...sdk.maxStepOutputBytes, property: \.limits.maxStepOutputBytes),
            Integer(key: "limits.maxStepsPerRun", range: 1...sdk.maxStepsPerRun, property: \.limits.maxStepsPerRun),
            // A step request carries the run's whole state, in a frame the SDK takes up to maxWorkerFrameBytes.
            Integer(
                key: "limits.maxRunStateBytes", range: 1_024...(sdk.maxWorkerFrameBytes - mebibyte),
                property: \.limits.maxRunStateBytes),
            Integer(key: "limits.maxFunctionsPerWorker", range: 1...sdk.maxFunctionsPerWorker, property: \.limits.maxFunctionsPerWorker),
            Integer(key: "limits.maxLabelsPerWorker", range: 0...10_000, property: \.limits.maxLabelsPerWorker),
            Integer(key: "limits.maxLabelBytes", range: 1...65_536, property: \.limits.maxLabelBytes),
            Integer(key: "limits.maxSleepMilliseconds", range: 1_000...Int(sdk.maxSleepMilliseconds), property: \.limits.maxSleepMilliseconds),
            Integer(
                key: "limits.idempotencyWindowMilliseconds", range: 60_000...30 * day,
                property: \.limits.idempotencyWindowMilliseconds),
            Integer(key: "limits.maxEventsPerSend", range: 1...sdk.maxEventsPerSend, property: \.limits.maxEventsPerSend),
            Integer(
                key: "limits.maxFlowPeriodMilliseconds", range: 1_000...Int(sdk.maxFlowPeriodMilliseconds),
                property: \.limits.maxFlowPeriodMilliseconds),
            Integer(key: "limits.maxBatchBytes", range: 1_024...1_024 * mebibyte, property: \.limits.maxBatchBytes),

            // timing.*: the worker protocol's clock, the handshake and the drain.
            Integer(key: "timing.heartbeatIntervalMilliseconds", range: 100...600_000, property: \.timing.heartbeatIntervalMilliseconds),
            Integer(key: "timing.missedHeartbeatsBeforeDead", range: 2...100, property: \.timing.missedHeartbeatsBeforeDead),
            Integer(key: "timing.stepLeaseMilliseconds", range: 1_000...3_600_000, property: \.timing.leaseDurationMilliseconds),
            Integer(key: "timing.handshakeTimeoutMilliseconds", range: 1_000...600_000, property: \.handshakeTimeoutMilliseconds),
            Integer(key: "timing.reconnectWindowMilliseconds", range: 100...600_000, property: \.reconnectWindowMilliseconds),
            Integer(
                key: "timing.workerHistoryIntervalMilliseconds", range: 1_000...3_600_000,
                property: \.workerHistoryIntervalMilliseconds),

            // retry.*: the backoff between attempts of a failed step.
            Integer(key: "retry.baseDelayMilliseconds", range: 1...day, property: \.retry.baseDelayMilliseconds),
            Integer(key: "retry.maxDelayMilliseconds", range: 1...7 * day, property: \.retry.maxDelayMilliseconds),
        ]
    }

    /// Every key the file may hold.
    static var all: Set<String> {
        Set([
            host, data, backups, durability, tlsCertificate, tlsPrivateKey, httpTlsCertificate, httpTlsPrivateKey, signingKeys, signingKeyFiles, apiKeys,
            apiKeyFiles, metricsPublic, journal, nodeId, advertiseHTTP, advertiseWorker, leaseMilliseconds,
            leaseRenewMilliseconds, checkpointDirectory, checkpointIntervalSeconds, checkpointKeep, otelEndpoint,
            otelServiceName, retentionRuns, retentionEvents, heartbeatJitter,
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

    func double(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = try read(key, { try reader.requiredDouble(forKey: ConfigKey(key)) }) else { return nil }
        guard range.contains(value) else {
            throw ServeConfigurationError("\(path): \(key) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
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
