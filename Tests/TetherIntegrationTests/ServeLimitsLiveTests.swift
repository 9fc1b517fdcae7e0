import Foundation
import Testing
import TetherClient
import TetherCoordinator
import TetherEngine
import TetherProtocol

/// A coordinator configured by a serve file with every `limits.*`, `timing.*` and `retry.*` key:
/// the values reach the HTTP API and the worker protocol.
@Suite("The serve file's limits, timings and retry policy, live", .serialized)
struct ServeLimitsLiveTests {
    @Test("an event over limits.maxEventBytes is 413 payload_too_large; the Welcome carries timing.* and limits.maxFrameBytes")
    func honoured() async throws {
        let directory = try TemporaryDirectory("tether-serve-limits")
        let credentials = try TestCredentials(in: directory.path)
        let path = directory.path + "/tether.json"
        try """
        {"data": "db", "httpPort": 0, "workerPort": 0,
         "tls": {"certificate": "tls/server.pem", "privateKey": "tls/server-key.pem"},
         "signingKeys": ["\(credentials.key.text)"], "apiKeys": ["api-1"],
         "limits": {"maxFrameBytes": 2097152, "maxEventBytes": 2048, "maxRequestBodyBytes": 65536, "maxStepOutputBytes": 1048576,
           "maxStepsPerRun": 50, "maxRunStateBytes": 4194304, "maxFunctionsPerWorker": 20, "maxLabelsPerWorker": 8, "maxLabelBytes": 64,
           "maxSleepMilliseconds": 86400000, "idempotencyWindowMilliseconds": 3600000, "maxEventsPerSend": 10,
           "maxFlowPeriodMilliseconds": 3600000, "maxBatchBytes": 1048576},
         "timing": {"heartbeatIntervalMilliseconds": 1000, "heartbeatJitter": 0.1, "missedHeartbeatsBeforeDead": 4,
           "stepLeaseMilliseconds": 6000, "handshakeTimeoutMilliseconds": 3000, "reconnectWindowMilliseconds": 2000,
           "workerHistoryIntervalMilliseconds": 10000},
         "retry": {"baseDelayMilliseconds": 250, "maxDelayMilliseconds": 60000}}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let served = try await CoordinatorConfiguration.serve(configFile: path, environment: [:])
        let coordinator = try await TestCoordinator(directory: directory.path, credentials: credentials) { $0 = served }
        let client = try TetherClient(url: coordinator.httpURL, apiKey: "api-1")

        // limits.maxEventBytes: 2 KiB of data is over it, a small event is not.
        let large = #"{"name":"order/created","data":{"note":"\#(String(repeating: "x", count: 2_100))"}}"#
        let refused = try await client.request(.POST, "/v1/events", body: Array(large.utf8))
        #expect(refused.status == 413, "\(refused.text)")
        #expect(refused.json?["error"]?["code"]?.stringValue == "payload_too_large", "\(refused.text)")
        let small = try await client.request(.POST, "/v1/events", body: Array(#"{"name":"order/created","data":{}}"#.utf8))
        #expect(small.status == 200, "\(small.text)")
        // limits.maxRequestBodyBytes: a body over 64 KiB, whatever its events.
        let body = "[" + Array(repeating: #"{"name":"order/created","data":{"note":"\#(String(repeating: "y", count: 1_000))"}}"#, count: 70)
            .joined(separator: ",") + "]"
        let tooLong = try await client.request(.POST, "/v1/events", body: Array(body.utf8))
        #expect(tooLong.status == 413, "\(tooLong.text)")

        // timing.* and limits.maxFrameBytes, as a worker is told them.
        let raw = try await RawConnection.connect(
            port: coordinator.endpoints.workerPort, tlsCAFile: credentials.tls.caCertificatePath)
        try await raw.sendHello(instanceId: "limits", key: credentials.key) {
            $0.appName = "shop"
            $0.capacity = 1
        }
        let welcome = try #require(await raw.waitForFrame { $0.welcome.connectionID.count > 0 }?.welcome, "\(raw.frames)")
        #expect(welcome.heartbeatIntervalMs == 1_000)
        #expect(welcome.heartbeatJitter == 0.1)
        #expect(welcome.leaseDurationMs == 6_000)
        #expect(welcome.maxFrameBytes == 2_097_152)
        await raw.close()
        await coordinator.shutdown()
    }
}
