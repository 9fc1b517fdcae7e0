import Foundation
import Synchronization
import Testing
import Tether
import TetherClient
import TetherCoordinator
import TetherEngine
import TetherProtocol
import TetherTestSupport

@Suite("Metrics, live over TLS and RocksDB", .serialized)
struct MetricsLiveTests {
    struct Job: Codable, Sendable {
        var n: Int
    }

    /// A value the test and step closures share.
    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func update<Result: Sendable>(_ body: @Sendable (inout Value) -> Result) -> Result {
            value.withLock { body(&$0) }
        }
        var current: Value { value.withLock { $0 } }
    }

    static func scrape(_ client: TetherClient) async throws -> MetricsText {
        let response = try await client.request(.GET, "/metrics")
        try response.throwIfError()
        return MetricsText(response.text)
    }

    /// A function whose one step blocks until `gate` opens.
    static func holding(_ gate: Shared<Bool>) -> TetherFunction {
        TetherFunction("hold", trigger: .event("metrics/hold")) { (ctx: Context<Job>) -> Int in
            try await ctx.step.run("wait") { () async throws -> Int in
                while !gate.current { try await Task.sleep(for: .milliseconds(10)) }
                return ctx.event.data.n
            }
        }
    }

    static let steady = TetherFunction("steady", trigger: .event("metrics/steady")) { (ctx: Context<Job>) -> String in
        _ = try await ctx.step.run("a") { 1 }
        _ = try await ctx.step.run("b") { 2 }
        return "done"
    }

    @Test("counters count what happened; gauges show the connected worker, its capacity and the queue")
    func countsWhatHappened() async throws {
        let coordinator = try await TestCoordinator(durability: .relaxed) {
            $0.retry = RetryPolicy(baseDelayMilliseconds: 20, maxDelayMilliseconds: 100)
        }
        let gate = Shared(false)
        let charges = Shared(0)
        let flaky = TetherFunction("flaky", trigger: .event("metrics/flaky"), retries: 3) {
            (ctx: Context<Job>) -> Bool in
            try await ctx.step.run("charge") { () async throws -> Bool in
                let attempt = charges.update { count in
                    count += 1
                    return count
                }
                if attempt == 1 { throw RetryAfterError("gateway busy", after: .milliseconds(10)) }
                return true
            }
        }
        let doomed = TetherFunction("doomed", trigger: .event("metrics/doomed")) { (ctx: Context<Job>) -> Bool in
            try await ctx.step.run("charge") { () async throws -> Bool in throw NonRetriableError("card stolen") }
        }
        let worker = TestWorker(
            app: "metrics", functions: [Self.steady, flaky, doomed, Self.holding(gate)],
            options: coordinator.workerOptions(instanceId: "w", capacity: 2))
        let client = try coordinator.client()
        #expect(try await DurablePrimitivesLiveTests.connected(client, workers: 1))

        var text = try await Self.scrape(client)
        #expect(text[#"tether_workers_connected{app="metrics"}"#] == 1)
        #expect(text[#"tether_capacity_slots{app="metrics"}"#] == 2)
        #expect(text[#"tether_capacity_in_use_slots{app="metrics"}"#] == 0)
        #expect(text["tether_worker_handshakes_accepted_total"] == 1)
        #expect(text["tether_store_healthy"] == 1)

        // Two held steps fill both slots; a third run waits in the queue.
        var runIds: [String] = []
        for n in 0..<2 { runIds += try await client.send("metrics/hold", data: ["n": .int(Int64(n))]).runIds }
        let full = try await eventually {
            try await Self.scrape(client)[#"tether_capacity_in_use_slots{app="metrics"}"#] == 2
        }
        #expect(full)
        runIds += try await client.send("metrics/steady", data: ["n": 2]).runIds
        // Gauges come from the scheduler's status snapshot, at most 250 ms old.
        #expect(try await eventually { try await Self.scrape(client)["tether_runs_active"] == 3 })
        text = try await Self.scrape(client)
        #expect(text[#"tether_queue_depth{function="metrics:steady"}"#] == 1)
        #expect((text[#"tether_queue_oldest_age_seconds{function="metrics:steady"}"#] ?? -1) >= 0)
        #expect(text[#"tether_steps_running{function="metrics:hold"}"#] == 2)
        #expect(text["tether_runs_active"] == 3)
        gate.update { $0 = true }

        runIds += try await client.send("metrics/flaky", data: ["n": 3]).runIds
        runIds += try await client.send("metrics/doomed", data: ["n": 4]).runIds
        let runs = try await client.waitForRuns(runIds)
        #expect(
            runs.values.compactMap { $0["status"]?.stringValue }.sorted()
                == ["completed", "completed", "completed", "completed", "failed"])

        // Per run, the worker reported: hold, one request each (the step, then the function
        // returned); steady, `a` then `b` with the return; flaky, a retried attempt then the
        // step with the return; doomed, the step failing for good then the function throwing it.
        #expect(try await eventually { try await Self.scrape(client)["tether_runs_active"] == 0 })
        text = try await Self.scrape(client)
        let outcomes: [String: Double] = [
            "completed": 1, "planned": 0, "run_completed": 4, "retried": 1, "failed": 1, "run_failed": 1,
            "rejected": 0, "duplicate": 0,
        ]
        for (outcome, count) in outcomes {
            #expect(text[#"tether_step_results_total{outcome="\#(outcome)"}"#] == count, "\(outcome)")
        }
        #expect(text["tether_steps_dispatched_total"] == 8)
        #expect(text["tether_dispatch_latency_seconds_count"] == 5, "one first dispatch per run")
        #expect(text["tether_events_accepted_total"] == 5)
        for (function, count) in [("hold", 2.0), ("steady", 1), ("flaky", 1), ("doomed", 1)] {
            #expect(text[#"tether_runs_created_total{function="metrics:\#(function)"}"#] == count, "\(function)")
        }
        #expect(text[#"tether_runs_finished_total{function="metrics:hold",status="completed"}"#] == 2)
        #expect(text[#"tether_runs_finished_total{function="metrics:steady",status="completed"}"#] == 1)
        #expect(text[#"tether_runs_finished_total{function="metrics:flaky",status="completed"}"#] == 1)
        #expect(text[#"tether_runs_finished_total{function="metrics:doomed",status="failed"}"#] == 1)
        #expect(text[#"tether_runs_finished_total{function="metrics:doomed",status="completed"}"#] == nil)
        #expect(text["tether_lease_expiries_total"] == 0)
        #expect(text[#"tether_capacity_in_use_slots{app="metrics"}"#] == 0)
        #expect(text[#"tether_queue_depth{function="metrics:steady"}"#] == 0)
        #expect(text["tether_runs_active"] == 0)
        #expect((text["tether_store_commit_seconds_count"] ?? 0) > 0)
        #expect(text["tether_store_commit_batches_count"] == text["tether_store_commit_seconds_count"])

        // A worker with the wrong signing key is refused, and counted by code.
        let intruder = TestWorker(
            app: "metrics", functions: [Self.steady],
            options: coordinator.workerOptions(instanceId: "intruder", capacity: 1, key: SigningKey.generate()))
        let refused = try await eventually {
            try await Self.scrape(client)[#"tether_worker_handshakes_rejected_total{code="unauthenticated"}"#] == 1
        }
        #expect(refused)
        #expect(try await Self.scrape(client)[#"tether_workers_connected{app="metrics"}"#] == 1)
        await intruder.shutdown()
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("two coordinators in one process keep their own counts")
    func separateCoordinators() async throws {
        let busy = try await TestCoordinator(durability: .relaxed)
        let idle = try await TestCoordinator(durability: .relaxed)
        let worker = TestWorker(
            app: "metrics", functions: [Self.steady], options: busy.workerOptions(instanceId: "w", capacity: 1))
        let client = try busy.client()
        #expect(try await DurablePrimitivesLiveTests.connected(client, workers: 1))
        let runIds = try await client.send("metrics/steady", data: ["n": 1]).runIds
        _ = try await client.waitForRuns(runIds)

        let busyText = try await Self.scrape(client)
        let idleText = try await Self.scrape(try idle.client())
        #expect(busyText["tether_events_accepted_total"] == 1)
        #expect(busyText["tether_steps_dispatched_total"] == 2)
        #expect(busyText["tether_worker_handshakes_accepted_total"] == 1)
        #expect(busyText[#"tether_runs_finished_total{function="metrics:steady",status="completed"}"#] == 1)
        #expect(idleText["tether_events_accepted_total"] == 0)
        #expect(idleText["tether_steps_dispatched_total"] == 0)
        #expect(idleText["tether_worker_handshakes_accepted_total"] == 0)
        #expect(idleText[#"tether_step_results_total{outcome="run_completed"}"#] == 0)
        #expect(idleText[#"tether_runs_finished_total{function="metrics:steady",status="completed"}"#] == nil)
        #expect(idleText[#"tether_workers_connected{app="metrics"}"#] == nil)
        await worker.shutdown()
        await busy.shutdown()
        await idle.shutdown()
    }

    @Test("with API keys /metrics needs one, unless metricsPublic opens it; /v1 stays closed")
    func authentication() async throws {
        let closed = try await TestCoordinator(durability: .relaxed) { $0.apiKeys = ["secret"] }
        let open = try await TestCoordinator(durability: .relaxed) {
            $0.apiKeys = ["secret"]
            $0.metricsPublic = true
        }
        let anonymousToClosed = try await closed.client().request(.GET, "/metrics")
        #expect(anonymousToClosed.status == 401)
        #expect(anonymousToClosed.json?["error"]?["code"]?.stringValue == "unauthenticated")
        let withKey = try await TetherClient(url: closed.httpURL, apiKey: "secret").request(.GET, "/metrics")
        #expect(withKey.status == 200)
        #expect(withKey.text.contains("# TYPE tether_steps_dispatched_total counter"))
        #expect(try await open.client().request(.GET, "/metrics").status == 200)
        #expect(try await open.client().request(.GET, "/v1/status").status == 401)
        await closed.shutdown()
        await open.shutdown()
    }
}
