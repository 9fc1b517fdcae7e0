import Foundation
import Testing
import TetherCoordinator
import TetherEngine

/// `limits.*`, `timing.*` and `retry.*` in `tether serve`'s file (docs/operations.md).
@Suite("tether serve's limits, timings and retry policy")
struct ServeLimitsTests {
    typealias ConfigFile = ServeConfigurationTests.ConfigFile

    /// Every new integer key with the range docs/operations.md gives it.
    static let ranges: [(key: String, range: ClosedRange<Int64>)] = [
        ("limits.maxFrameBytes", 65_536...268_435_456),
        ("limits.maxEventBytes", 1_024...1_073_741_824),
        ("limits.maxRequestBodyBytes", 1_024...1_073_741_824),
        ("limits.maxStepOutputBytes", 1...4_194_304),
        ("limits.maxStepsPerRun", 1...1_000),
        ("limits.maxRunStateBytes", 1_024...33_554_432),
        ("limits.maxFunctionsPerWorker", 1...1_000),
        ("limits.maxLabelsPerWorker", 0...10_000),
        ("limits.maxLabelBytes", 1...65_536),
        ("limits.maxSleepMilliseconds", 1_000...31_622_400_000),
        ("limits.idempotencyWindowMilliseconds", 60_000...2_592_000_000),
        ("limits.maxEventsPerSend", 1...1_000),
        ("limits.maxFlowPeriodMilliseconds", 1_000...604_800_000),
        ("limits.maxBatchBytes", 1_024...1_073_741_824),
        ("timing.heartbeatIntervalMilliseconds", 100...600_000),
        ("timing.missedHeartbeatsBeforeDead", 2...100),
        ("timing.stepLeaseMilliseconds", 1_000...3_600_000),
        ("timing.handshakeTimeoutMilliseconds", 1_000...600_000),
        ("timing.reconnectWindowMilliseconds", 100...600_000),
        ("timing.workerHistoryIntervalMilliseconds", 1_000...3_600_000),
        ("retry.baseDelayMilliseconds", 1...86_400_000),
        ("retry.maxDelayMilliseconds", 1...604_800_000),
    ]

    /// `"limits": {"maxFrameBytes": 1}` for `limits.maxFrameBytes` and `1`.
    static func setting(_ key: String, _ value: String) -> String {
        let parts = key.split(separator: ".")
        return #""\#(parts[0])": {"\#(parts[1])": \#(value)}"#
    }

    @Test("every key set is honoured")
    func everyKey() async throws {
        let file = try ConfigFile(
            #"""
            "limits": {"maxFrameBytes": 2097152, "maxEventBytes": 2048, "maxRequestBodyBytes": 65536, "maxStepOutputBytes": 1048576,
              "maxStepsPerRun": 50, "maxRunStateBytes": 4194304, "maxFunctionsPerWorker": 20, "maxLabelsPerWorker": 8, "maxLabelBytes": 64,
              "maxSleepMilliseconds": 86400000, "idempotencyWindowMilliseconds": 3600000, "maxEventsPerSend": 10,
              "maxFlowPeriodMilliseconds": 3600000, "maxBatchBytes": 1048576},
            "timing": {"heartbeatIntervalMilliseconds": 1000, "heartbeatJitter": 0.1, "missedHeartbeatsBeforeDead": 4,
              "stepLeaseMilliseconds": 6000, "handshakeTimeoutMilliseconds": 3000, "reconnectWindowMilliseconds": 2000,
              "workerHistoryIntervalMilliseconds": 10000},
            "retry": {"baseDelayMilliseconds": 250, "maxDelayMilliseconds": 60000}
            """#)
        let configuration = try await file.load()
        var limits = Limits.default
        limits.maxFrameBytes = 2_097_152
        limits.maxEventBytes = 2_048
        limits.maxRequestBodyBytes = 65_536
        limits.maxStepOutputBytes = 1_048_576
        limits.maxStepsPerRun = 50
        limits.maxRunStateBytes = 4_194_304
        limits.maxFunctionsPerWorker = 20
        limits.maxLabelsPerWorker = 8
        limits.maxLabelBytes = 64
        limits.maxSleepMilliseconds = 86_400_000
        limits.idempotencyWindowMilliseconds = 3_600_000
        limits.maxEventsPerSend = 10
        limits.maxFlowPeriodMilliseconds = 3_600_000
        limits.maxBatchBytes = 1_048_576
        #expect(configuration.limits == limits)
        var timing = ProtocolTiming.default
        timing.heartbeatIntervalMilliseconds = 1_000
        timing.heartbeatJitter = 0.1
        timing.missedHeartbeatsBeforeDead = 4
        timing.leaseDurationMilliseconds = 6_000
        #expect(configuration.timing == timing)
        #expect(configuration.handshakeTimeoutMilliseconds == 3_000)
        #expect(configuration.reconnectWindowMilliseconds == 2_000)
        #expect(configuration.workerHistoryIntervalMilliseconds == 10_000)
        #expect(configuration.retry == RetryPolicy(baseDelayMilliseconds: 250, maxDelayMilliseconds: 60_000))
        // A jitter written as an integer is a number all the same.
        #expect(try await ConfigFile(#""timing": {"heartbeatJitter": 0}"#).load().timing.heartbeatJitter == 0)
    }

    @Test("unset keys keep the structs' defaults")
    func defaults() async throws {
        let configuration = try await ConfigFile().load()
        let defaults = CoordinatorConfiguration(dataDirectory: "", signingKeys: [], tlsCertificatePath: "", tlsPrivateKeyPath: "")
        #expect(configuration.limits == Limits.default)
        #expect(configuration.timing == ProtocolTiming.default)
        #expect(configuration.retry == RetryPolicy())
        #expect(configuration.handshakeTimeoutMilliseconds == defaults.handshakeTimeoutMilliseconds)
        #expect(configuration.reconnectWindowMilliseconds == defaults.reconnectWindowMilliseconds)
        #expect(configuration.workerHistoryIntervalMilliseconds == defaults.workerHistoryIntervalMilliseconds)
    }

    @Test("a value out of its range is refused naming the key, at both ends; a value of the wrong type names the key")
    func ranges() async throws {
        for (key, range) in Self.ranges {
            for value in [range.lowerBound - 1, range.upperBound + 1] {
                let message = try await ConfigFile(Self.setting(key, String(value))).error()
                #expect(
                    message.contains("\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(value)"),
                    "\(key) = \(value): \(message)")
            }
            let wrongType = try await ConfigFile(Self.setting(key, #""12""#)).error()
            #expect(wrongType.contains("'\(key)'") && wrongType.contains("invalid configuration"), "\(key): \(wrongType)")
        }
        for value in ["-0.1", "0.6"] {
            let message = try await ConfigFile(Self.setting("timing.heartbeatJitter", value)).error()
            #expect(message.contains("timing.heartbeatJitter must be between 0.0 and 0.5, got \(Double(value)!)"), "\(message)")
        }
        let jitterType = try await ConfigFile(Self.setting("timing.heartbeatJitter", #""0.1""#)).error()
        #expect(jitterType.contains("'timing.heartbeatJitter'"), "\(jitterType)")
        let unknown = try await ConfigFile(#""limits": {"maxEventPayloadBytes": 1}, "retry": {"attempts": 3}"#).error()
        #expect(unknown.contains("unknown setting(s) limits.maxEventPayloadBytes, retry.attempts"), "\(unknown)")
    }

    @Test("a value that clashes with another key's (or its default) is refused naming both")
    func relations() async throws {
        for (settings, expected) in [
            (
                #""timing": {"heartbeatIntervalMilliseconds": 6000}"#,
                "timing.heartbeatIntervalMilliseconds (6000) must be at most timing.stepLeaseMilliseconds / 3 (15000 / 3)"
            ),
            (
                #""timing": {"heartbeatIntervalMilliseconds": 2000, "stepLeaseMilliseconds": 5000}"#,
                "timing.heartbeatIntervalMilliseconds (2000) must be at most timing.stepLeaseMilliseconds / 3 (5000 / 3)"
            ),
            (#""limits": {"maxRequestBodyBytes": 4096}"#, "limits.maxEventBytes (524288) must be at most limits.maxRequestBodyBytes (4096)"),
            (#""limits": {"maxFrameBytes": 1048576}"#, "limits.maxStepOutputBytes (4194304) must be at most limits.maxFrameBytes (1048576)"),
            (#""limits": {"maxRunStateBytes": 2097152}"#, "limits.maxStepOutputBytes (4194304) must be at most limits.maxRunStateBytes (2097152)"),
            (
                #""limits": {"maxRunStateBytes": 4194304, "maxBatchBytes": 8388608}"#,
                "limits.maxBatchBytes (8388608) must be at most limits.maxRunStateBytes (4194304)"
            ),
            (#""retry": {"maxDelayMilliseconds": 500}"#, "retry.baseDelayMilliseconds (1000) must be at most retry.maxDelayMilliseconds (500)"),
        ] {
            let message = try await ConfigFile(settings).error()
            #expect(message.contains(expected), "\(settings): \(message)")
        }
    }
}
