import Foundation
import Synchronization
import Testing
import TetherEngine

@testable import Tether
import TetherClient

/// Capacity-aware dispatch over real TLS and RocksDB (docs/protocol.md, "Capacity"): a worker's slots are never
/// exceeded, even when it changes them at runtime; the newest app version is preferred; when all
/// are full steps wait without consuming attempts; a worker's graceful shutdown hands work back.
@Suite("Capacity", .serialized)
struct CapacityLiveTests {
    /// Steps that hold until the test lets them finish, counting how many run at once, per worker.
    final class Gate: Sendable {
        struct State {
            var running: [String: Int] = [:]
            var peak: [String: Int] = [:]
            var started: [String: Int] = [:]
            var permits = 0
        }
        let state = Mutex(State())

        func enter(_ worker: String) {
            state.withLock {
                $0.running[worker, default: 0] += 1
                $0.started[worker, default: 0] += 1
                $0.peak[worker] = max($0.peak[worker] ?? 0, $0.running[worker]!)
            }
        }

        /// Waits for a permit, then leaves.
        func leave(_ worker: String) async throws {
            while !state.withLock({ state -> Bool in
                guard state.permits > 0 else { return false }
                state.permits -= 1
                state.running[worker, default: 0] -= 1
                return true
            }) {
                try await Task.sleep(for: .milliseconds(5))
            }
        }

        func allow(_ count: Int) { state.withLock { $0.permits += count } }
        func resetPeaks() { state.withLock { $0.peak = $0.running } }
        var running: [String: Int] { state.withLock { $0.running } }
        var peak: [String: Int] { state.withLock { $0.peak } }
        var started: [String: Int] { state.withLock { $0.started } }
        var totalRunning: Int { running.values.reduce(0, +) }
    }

    static func gated(_ worker: String, gate: Gate) -> TetherFunction {
        TetherFunction("gated", trigger: .event("test/gated")) { (ctx: Context<JSONValue>) -> String in
            try await ctx.step.run("hold") { () async throws -> String in
                gate.enter(worker)
                try await gate.leave(worker)
                return worker
            }
        }
    }

    static func send(_ count: Int, client: TetherClient) async throws -> [String] {
        var runIds: [String] = []
        for i in 0..<count {
            runIds += try await client.send("test/gated", data: ["i": .int(Int64(i))]).runIds
        }
        return runIds
    }

    static func statusWorker(_ client: TetherClient, _ instance: String) async throws -> JSONValue? {
        try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.first {
            $0["instanceId"]?.stringValue == instance
        }
    }

    @Test("setCapacity 2 → 4 → 1: the coordinator never exceeds the advertised slots; full means wait, not fail")
    func runtimeCapacity() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        let gate = Gate()
        let worker = TestWorker(functions: [Self.gated("w", gate: gate)], options: coordinator.workerOptions(instanceId: "w", capacity: 2))
        _ = try await eventually { try await Self.statusWorker(client, "w") != nil }
        let runIds = try await Self.send(12, client: client)

        // Full at 2: the other 10 wait in the queue.
        #expect(await eventually { gate.totalRunning == 2 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(gate.peak["w"] == 2)
        // The status is a snapshot at most 250 ms old.
        #expect(try await eventually { try await client.request(.GET, "/v1/status").json?["queue"]?["depth"]?.int64Value == 10 })
        let status = try await client.request(.GET, "/v1/status").json
        #expect(status?["queue"]?["depth"]?.int64Value == 10)
        #expect(status?["capacity"]?["inFlight"]?.int64Value == 2)

        // Up to 4: two more go out at once, not more.
        worker.worker.setCapacity(4)
        #expect(await eventually { gate.totalRunning == 4 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(gate.peak["w"] == 4)
        #expect(try await eventually { try await Self.statusWorker(client, "w")?["capacity"]?.int64Value == 4 })

        // Down to 1: the four running finish, then one at a time.
        worker.worker.setCapacity(1)
        _ = try await eventually { try await Self.statusWorker(client, "w")?["capacity"]?.int64Value == 1 }
        gate.allow(4)
        #expect(await eventually { gate.started["w"] == 5 })
        gate.resetPeaks()
        // The fifth step and the seven still queued, one permit at a time.
        for _ in 0..<8 {
            gate.allow(1)
            try await Task.sleep(for: .milliseconds(30))
        }
        let finished = try await client.waitForRuns(runIds, timeout: .seconds(60))
        #expect(gate.peak["w"] == 1, "after setCapacity(1) at most one step ran at a time")
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        let attempts = finished.values.compactMap { $0["steps"]?.arrayValue?.first?["attempts"]?.int64Value }
        #expect(attempts == Array(repeating: 1, count: 12), "waiting for a slot consumes no attempt")
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("during a rollout the newest app version (1.10.0 over 1.9.0) gets the work, the old one the overflow")
    func newestVersionFirst() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        let gate = Gate()
        var oldOptions = coordinator.workerOptions(instanceId: "old", capacity: 2)
        oldOptions.appVersion = "1.9.0"
        var newOptions = coordinator.workerOptions(instanceId: "new", capacity: 2)
        newOptions.appVersion = "1.10.0"
        let old = TestWorker(functions: [Self.gated("old", gate: gate)], options: oldOptions)
        let new = TestWorker(functions: [Self.gated("new", gate: gate)], options: newOptions)
        _ = try await eventually {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 2
        }

        let first = try await Self.send(2, client: client)
        #expect(await eventually { gate.totalRunning == 2 })
        #expect(gate.running["new"] == 2, "both went to 1.10.0 although 1.9.0 had as many free slots")
        let more = try await Self.send(2, client: client)
        #expect(await eventually { gate.totalRunning == 4 })
        #expect(gate.running["old"] == 2, "with 1.10.0 full, the overflow spills to 1.9.0")
        gate.allow(4)
        let finished = try await client.waitForRuns(first + more)
        #expect(finished.values.filter { $0["output"]?.stringValue == "new" }.count == 2)
        await old.shutdown()
        await new.shutdown()
        await coordinator.shutdown()
    }

    @Test("a worker's graceful shutdown finishes its step within the grace period; a step too long goes back and completes elsewhere")
    func workerShutdownHandsBack() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        let gate = Gate()
        var leavingOptions = coordinator.workerOptions(instanceId: "leaving", capacity: 2)
        leavingOptions.shutdownGracePeriod = .seconds(2)
        let leaving = TestWorker(functions: [Self.gated("leaving", gate: gate)], options: leavingOptions)
        _ = try await eventually { try await Self.statusWorker(client, "leaving") != nil }
        let runIds = try await Self.send(2, client: client)
        #expect(await eventually { gate.running["leaving"] == 2 })

        // Shutdown starts: one step is let through at once, the other never finishes here.
        let started = ContinuousClock.now
        let shutdown = Task { await leaving.shutdown() }
        try await Task.sleep(for: .milliseconds(200))
        gate.allow(1)
        // While it drains, a new worker comes; no new step goes to the leaving one.
        let staying = TestWorker(
            functions: [Self.gated("staying", gate: gate)], options: coordinator.workerOptions(instanceId: "staying", capacity: 2))
        await shutdown.value
        let shutdownTook = ContinuousClock.now - started
        gate.allow(10)
        let finished = try await client.waitForRuns(runIds, timeout: .seconds(60))
        let ranOn = finished.values.compactMap { $0["output"]?.stringValue }.sorted()
        #expect(ranOn == ["leaving", "staying"], "one finished in the grace period, the other went back")
        #expect(gate.started["leaving"] == 2)
        let attempts = finished.values.compactMap { $0["steps"]?.arrayValue?.first?["attempts"]?.int64Value }
        #expect(attempts == [1, 1], "a step handed back at shutdown consumes no attempt")
        print("worker shutdown with a 2 s grace period took \(shutdownTook); ran on \(ranOn)")
        await staying.shutdown()
        await coordinator.shutdown()
    }
}
