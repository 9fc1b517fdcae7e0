import Foundation
import TetherProcess
import Testing
import TetherCoordinator
import TetherEngine

@testable import Tether

/// A reconnect storm: a child `tether dev` holding 2,000 worker connections (SDK workers in this
/// process) is killed with SIGKILL and restarted. Every worker comes back on its own (exponential
/// backoff with full jitter), and the restarted coordinator never runs more handshakes at once than
/// its limit; the excess waits before TLS.
@Suite("Reconnect storm", .serialized)
struct ReconnectStormTests {
    @Test("2,000 workers, coordinator SIGKILLed and restarted: all come back, handshake concurrency stays bounded")
    func storm() async throws {
        let workerCount = 2_000
        let handshakeLimit = 64
        let directory = try TemporaryDirectory("tether-storm")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        let limitArguments = ["--max-concurrent-handshakes", String(handshakeLimit)]
        var coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort,
            logPath: directory.path + "/coordinator-1.log", extraArguments: limitArguments)
        let fleet = try WorkerFleet(count: workerCount, prefix: "storm") {
            try coordinator.workerOptions(instanceId: $0, capacity: 1)
        }
        let client = try coordinator.client()
        let firstConnect = await waitForWorkers(workerCount, client: client, timeout: .seconds(240), every: .milliseconds(500))
        try #require(firstConnect != nil, "the first 2,000 connections did not all register")

        await coordinator.process.stop(signal: SIGKILL)
        let killedAt = ContinuousClock.now
        coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort,
            logPath: directory.path + "/coordinator-2.log", extraArguments: limitArguments)
        let restartedIn = ContinuousClock.now - killedAt
        let back = await waitForWorkers(workerCount, client: client, timeout: .seconds(300), every: .milliseconds(500))
        let allBack = back.map { restartedIn + $0 }
        let status = try await client.request(.GET, "/v1/status").json
        let handshakes = status?["handshakes"]
        let rss = ProcessStats.read(pid: coordinator.process.process.processIdentifier)?.rssBytes ?? 0
        let peak = handshakes?["peakInProgress"]?.int64Value ?? -1
        print(
            """
            reconnect storm: \(workerCount) workers; first connect took \(firstConnect!); \
            coordinator back up \(restartedIn) after SIGKILL; all workers back \(allBack.map { "\($0)" } ?? "NOT ALL") after the kill; \
            coordinator RSS with all connected: \(rss / 1_048_576) MiB; \
            handshakes after restart: \(handshakes.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "?")
            """)
        #expect(allBack != nil, "every worker reconnected by itself")
        #expect(peak >= 1 && peak <= Int64(handshakeLimit), "handshake concurrency bounded by the limit")
        #expect(handshakes?["limit"]?.int64Value == Int64(handshakeLimit))
        await fleet.shutdown()
        await coordinator.process.stop()
    }
}
