import Foundation
import Synchronization
import Testing
import TetherEngine
import TetherTestSupport

@testable import Tether
import TetherClient

/// Readers cost the scheduler one status walk per 250 ms however many there are
/// (docs/operations.md, "Backpressure"): 10 status streams, a scrape a second and `/v1/status`
/// calls, at 10,000 queued runs and 2,000 connected workers.
@Suite("Status snapshots", .serialized)
struct StatusSnapshotLiveTests {
    final class Counter: Sendable {
        let events = Mutex(0)
    }

    static func snapshots(_ client: TetherClient) async throws -> Double {
        try await MetricsLiveTests.scrape(client)["tether_scheduler_status_snapshots_total"] ?? -1
    }

    @Test("10 status streams, a scrape a second and status calls at 10,000 queued runs and 2,000 workers: at most one snapshot per 250 ms")
    func oneSnapshotPerTick() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        let fleet = try WorkerFleet(count: 2_000, prefix: "snap") { coordinator.workerOptions(instanceId: $0, capacity: 1) }
        // One worker of the queued function, its one slot held by a step that waits: the rest queue.
        let release = Mutex(false)
        let held = TetherFunction("held", trigger: .event("snap/held")) { (ctx: Context<JSONValue>) -> Int in
            try await ctx.step.run("wait") { () async throws -> Int in
                while !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                return 0
            }
        }
        let holder = TestWorker(functions: [held], options: coordinator.workerOptions(instanceId: "holder", capacity: 1))
        #expect(await waitForWorkers(2_001, client: client, timeout: .seconds(120)) != nil)
        let batch = Array(("[" + Array(repeating: #"{"name":"snap/held"}"#, count: 500).joined(separator: ",") + "]").utf8)
        for _ in 0..<20 {
            let answer = try await client.request(.POST, "/v1/events", body: batch)
            #expect(answer.status == 200)
        }
        #expect(
            try await eventually {
                try await client.request(.GET, "/v1/status").json?["queue"]?["depth"]?.int64Value == 9_999
            })

        // Nobody reads: the scheduler builds none.
        let idleStart = try await Self.snapshots(client)
        try await Task.sleep(for: .seconds(1))
        let idleEnd = try await Self.snapshots(client)
        // The two scrapes themselves may build one each.
        #expect(idleEnd - idleStart <= 2)

        // 10 streams, a scrape a second, and a status call every 50 ms, for 3 s.
        let received = Counter()
        let port = coordinator.endpoints.httpPort
        let streams = (0..<10).map { _ in
            Task {
                _ = try? await StatusStreamTests.readEvents(port: port, path: "/v1/status/stream") { events in
                    received.events.withLock { $0 += 1 }
                    return false
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        let start = try await Self.snapshots(client)
        let began = ContinuousClock.now
        let statusCalls = Task {
            while !Task.isCancelled {
                _ = try? await client.request(.GET, "/v1/status")
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        for _ in 0..<3 {
            try await Task.sleep(for: .seconds(1))
            _ = try await Self.snapshots(client)
        }
        let end = try await Self.snapshots(client)
        let elapsed = ContinuousClock.now - began
        statusCalls.cancel()
        for stream in streams { stream.cancel() }
        let built = end - start
        let ticks = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("status snapshots: \(Int(built)) built in \(ticks) s for 10 streams, \(received.events.withLock { $0 }) stream reads, a scrape a second and 20 status calls a second")
        #expect(built > 0)
        #expect(built <= (ticks / 0.25).rounded(.up) + 1)

        release.withLock { $0 = true }
        await holder.shutdown()
        await fleet.shutdown()
        await coordinator.shutdown()
    }
}
