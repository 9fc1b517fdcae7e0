import Foundation
import Testing
import Tether
import TetherEngine

@Suite("End to end over TLS and RocksDB", .serialized)
struct EndToEndTests {
    @Test("200 events each run 3 steps on two workers of different capacity")
    func twoWorkersTwoHundredRuns() async throws {
        let coordinator = try await TestCoordinator()
        let ledger = StepLedger()
        let small = TestWorker(
            functions: [orderFunction(worker: "small", ledger: ledger)],
            options: coordinator.workerOptions(instanceId: "small", capacity: 2))
        let large = TestWorker(
            functions: [orderFunction(worker: "large", ledger: ledger)],
            options: coordinator.workerOptions(instanceId: "large", capacity: 8))
        let client = try coordinator.client()

        // Both workers registered before any event is sent.
        let connected = try await eventually {
            let status = try await client.request(.GET, "/v1/status").json
            return status?["workers"]?.arrayValue?.count == 2
        }
        #expect(connected)

        var orders: [String: TestOrder] = [:]
        var runIds: [String] = []
        for batch in 0..<4 {
            let events: [JSONValue] = (0..<50).map { i in
                let order = TestOrder(orderId: "o-\(batch * 50 + i)", amount: batch * 50 + i + 1)
                orders[order.orderId] = order
                return ["name": "order/created", "data": ["orderId": .string(order.orderId), "amount": .int(Int64(order.amount))]]
            }
            let response = try await client.request(.POST, "/v1/events", body: JSONValue.array(events).serialized())
            #expect(response.status == 200)
            let receipts = try #require(response.json?["events"]?.arrayValue)
            #expect(receipts.count == 50)
            for receipt in receipts {
                let runs = try #require(receipt["runs"]?.arrayValue)
                #expect(runs.count == 1)
                runIds.append(contentsOf: runs.compactMap(\.stringValue))
            }
        }
        #expect(runIds.count == 200)

        let finished = try await client.waitForRuns(runIds)
        #expect(finished.count == 200)
        for (_, run) in finished {
            #expect(run["status"]?.stringValue == "completed")
            let output = try #require(run["output"])
            let receipt = try JSONDecoder().decode(TestReceipt.self, from: Data(output.serialized()))
            let order = try #require(orders[receipt.orderId])
            #expect(receipt == TestReceipt.expected(for: order))
            let steps = run["steps"]?.arrayValue ?? []
            #expect(steps.map { $0["id"]?.stringValue } == ["reserve-stock", "charge", "send-receipt"])
            #expect(steps.allSatisfy { $0["status"]?.stringValue == "completed" && $0["attempts"]?.int64Value == 1 })
            #expect(run["event"]?["name"]?.stringValue == "order/created")
        }

        // Every step closure ran exactly once.
        let executions = ledger.executions
        #expect(executions.count == 600)
        #expect(executions.values.allSatisfy { $0 == 1 })
        // No worker ran more steps at once than it advertised; the larger one took more.
        let maxRunning = ledger.maxRunning
        #expect((maxRunning["small"] ?? 0) <= 2)
        #expect((maxRunning["large"] ?? 0) <= 8)
        let perWorker = ledger.perWorker
        #expect((perWorker["large"] ?? 0) > (perWorker["small"] ?? 0))
        print("steps per worker: \(perWorker), max concurrent: \(maxRunning)")

        // The status endpoint agrees: nothing queued or in flight, both workers ready.
        let status = try #require(try await client.request(.GET, "/v1/status").json)
        #expect(status["queue"]?["depth"]?.int64Value == 0)
        #expect(status["capacity"]?["total"]?.int64Value == 10)
        #expect(status["capacity"]?["inFlight"]?.int64Value == 0)

        await small.shutdown()
        await large.shutdown()
        await coordinator.shutdown()
    }

    @Test("runs survive an in-process coordinator restart on the same data directory")
    func restartInProcessKeepsRuns() async throws {
        let directory = try TemporaryDirectory("tether-restart")
        let credentials = try TestCredentials(in: directory.path)
        func start() async throws -> TestCoordinator {
            try await TestCoordinator(directory: directory.path, credentials: credentials)
        }
        var first: TestCoordinator? = try await start()
        let client = try first!.client()
        // No worker yet: the run waits in the queue, durably.
        let (_, runIds) = try await client.send("order/created", data: ["orderId": "o-1", "amount": 5])
        #expect(runIds.isEmpty, "no function is registered yet")
        await first?.shutdown()
        first = nil

        // Register the function, send an event, stop before any worker can run it.
        let ledger = StepLedger()
        let second = try await start()
        let worker = TestWorker(
            functions: [orderFunction(worker: "w", ledger: ledger)],
            options: second.workerOptions(instanceId: "w", capacity: 1))
        _ = try await eventually { try await second.client().request(.GET, "/v1/functions").json?["functions"]?.arrayValue?.count == 1 }
        await worker.shutdown()
        let (_, queued) = try await second.client().send("order/created", data: ["orderId": "o-2", "amount": 7])
        #expect(queued.count == 1)
        await second.shutdown()

        let third = try await start()
        let run = try await third.client().runJSON(queued[0])
        #expect(run["status"]?.stringValue == "queued")
        let worker2 = TestWorker(
            functions: [orderFunction(worker: "w2", ledger: ledger)],
            options: third.workerOptions(instanceId: "w2", capacity: 1))
        let done = try await third.client().waitForRuns(queued)
        #expect(done[queued[0]]?["status"]?.stringValue == "completed")
        #expect(ledger.totalExecutions == 3)
        await worker2.shutdown()
        await third.shutdown()
    }
}

@Suite("Step failures over TLS and RocksDB", .serialized)
struct StepFailureTests {
    struct Payment: Codable, Sendable { var amount: Int }
    struct Outcome: Codable, Sendable, Equatable { var charged: Bool; var refunded: String? }

    @Test("a flaky step is retried; a step that fails for good is thrown into the function, which can catch it")
    func retriesAndCaughtFailures() async throws {
        let coordinator = try await TestCoordinator(durability: .relaxed) {
            $0.retry = RetryPolicy(baseDelayMilliseconds: 20, maxDelayMilliseconds: 100)
        }
        let attempts = StepLedger()
        let flaky = TetherFunction("flaky", trigger: .event("payment/flaky"), retries: 3) { (ctx: Context<Payment>) -> Outcome in
            let charged = try await ctx.step.run("charge") { () async throws -> Bool in
                attempts.begin(worker: "w", entry: .init(orderId: ctx.runId, step: "charge"), runId: ctx.runId)
                attempts.end(worker: "w", entry: .init(orderId: ctx.runId, step: "charge"))
                if attempts.executions[.init(orderId: ctx.runId, step: "charge")]! < 3 {
                    throw RetryAfterError("gateway busy", after: .milliseconds(10))
                }
                return true
            }
            return Outcome(charged: charged, refunded: nil)
        }
        let compensating = TetherFunction("compensating", trigger: .event("payment/doomed"), retries: 1) {
            (ctx: Context<Payment>) -> Outcome in
            do {
                _ = try await ctx.step.run("charge") { () async throws -> Bool in
                    throw NonRetriableError("card stolen")
                }
                return Outcome(charged: true, refunded: nil)
            } catch let error as StepError {
                let refund = try await ctx.step.run("refund") { "refund for \(error.stepId): \(error.message)" }
                return Outcome(charged: false, refunded: refund)
            }
        }
        let uncaught = TetherFunction("uncaught", trigger: .event("payment/uncaught"), retries: 1) {
            (ctx: Context<Payment>) -> Outcome in
            _ = try await ctx.step.run("charge") { () async throws -> Bool in
                struct GatewayDown: Error {}
                throw GatewayDown()
            }
            return Outcome(charged: true, refunded: nil)
        }
        let worker = TestWorker(
            app: "payments", functions: [flaky, compensating, uncaught],
            options: coordinator.workerOptions(instanceId: "w", capacity: 4))
        let client = try coordinator.client()
        _ = try await eventually { try await client.request(.GET, "/v1/functions").json?["functions"]?.arrayValue?.count == 3 }

        let flakyRun = try await client.send("payment/flaky", data: ["amount": 1]).runIds
        let doomedRun = try await client.send("payment/doomed", data: ["amount": 1]).runIds
        let uncaughtRun = try await client.send("payment/uncaught", data: ["amount": 1]).runIds
        let runs = try await client.waitForRuns(flakyRun + doomedRun + uncaughtRun)

        let first = try #require(runs[flakyRun[0]])
        #expect(first["status"]?.stringValue == "completed")
        #expect(first["steps"]?[0]?["attempts"]?.int64Value == 3)
        #expect(first["output"]?["charged"]?.boolValue == true)

        let second = try #require(runs[doomedRun[0]])
        #expect(second["status"]?.stringValue == "completed")
        #expect(second["steps"]?[0]?["status"]?.stringValue == "failed")
        #expect(second["steps"]?[0]?["attempts"]?.int64Value == 1, "non-retriable: one attempt")
        #expect(second["steps"]?[0]?["error"]?["message"]?.stringValue == "card stolen")
        #expect(second["output"]?["refunded"]?.stringValue == "refund for charge: card stolen")

        let third = try #require(runs[uncaughtRun[0]])
        #expect(third["status"]?.stringValue == "failed")
        #expect(third["steps"]?[0]?["attempts"]?.int64Value == 2, "retries: 1 means two attempts")
        #expect(third["error"]?["type"]?.stringValue == "GatewayDown")
        await worker.shutdown()
        await coordinator.shutdown()
    }
}

@Suite("Heartbeats under load", .serialized)
struct HeartbeatTests {
    @Test("CPU-bound steps never starve heartbeats: the lease is extended and the connection stays up")
    func blockingStepsKeepTheConnection() async throws {
        let coordinator = try await TestCoordinator(durability: .relaxed) {
            $0.timing.heartbeatIntervalMilliseconds = 200
            $0.timing.leaseDurationMilliseconds = 500
        }
        let ledger = StepLedger()
        let spin = TetherFunction("spin", trigger: .event("cpu/spin")) { (ctx: Context<TestOrder>) -> Int in
            try await ctx.step.run("spin") { () -> Int in
                ledger.begin(worker: "w", entry: .init(orderId: ctx.event.data.orderId, step: "spin"), runId: ctx.runId)
                // Blocks its thread, never awaits: 3 leases and 2.5 silence windows long.
                let end = ContinuousClock.now.advanced(by: .milliseconds(1_500))
                var x = 0
                while ContinuousClock.now < end { x &+= 1 }
                ledger.end(worker: "w", entry: .init(orderId: ctx.event.data.orderId, step: "spin"))
                return x & 1
            }
        }
        let worker = TestWorker(app: "cpu", functions: [spin], options: coordinator.workerOptions(instanceId: "w", capacity: 4))
        let client = try coordinator.client()
        _ = try await eventually { try await client.request(.GET, "/v1/functions").json?["functions"]?.arrayValue?.count == 1 }
        // The coordinator lists the function before the worker has read its Welcome (the connection id).
        _ = await eventually { worker.worker.connectionId != nil }
        let connection = worker.worker.connectionId
        #expect(connection != nil)
        var runIds: [String] = []
        for i in 0..<4 {
            runIds += try await client.send("cpu/spin", data: ["orderId": .string("s-\(i)"), "amount": 1]).runIds
        }
        let runs = try await client.waitForRuns(runIds)
        #expect(runs.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        #expect(runs.values.allSatisfy { $0["steps"]?[0]?["attempts"]?.int64Value == 1 })
        #expect(ledger.executions.values.allSatisfy { $0 == 1 }, "no step ran twice")
        #expect(worker.worker.connectionId == connection, "the worker never reconnected")
        await worker.shutdown()
        await coordinator.shutdown()
    }
}

@Suite("Cancellation over HTTP", .serialized)
struct CancelTests {
    @Test("POST /v1/runs/{id}/cancel stops a run between steps; cancelling again is a conflict")
    func cancelMidRun() async throws {
        let coordinator = try await TestCoordinator(durability: .relaxed)
        let ledger = StepLedger()
        let slow = TetherFunction("slow", trigger: .event("slow/run")) { (ctx: Context<TestOrder>) -> Int in
            for index in 0..<3 {
                _ = try await ctx.step.run("s\(index)") { () async -> Int in
                    let entry = StepLedger.Entry(orderId: ctx.event.data.orderId, step: "s\(index)")
                    ledger.begin(worker: "w", entry: entry, runId: ctx.runId)
                    try? await Task.sleep(for: .milliseconds(300))
                    ledger.end(worker: "w", entry: entry)
                    return index
                }
            }
            return 3
        }
        let worker = TestWorker(app: "slow", functions: [slow], options: coordinator.workerOptions(instanceId: "w", capacity: 1))
        let client = try coordinator.client()
        _ = try await eventually { try await client.request(.GET, "/v1/functions").json?["functions"]?.arrayValue?.count == 1 }
        let runId = try #require(try await client.send("slow/run", data: ["orderId": "c-1", "amount": 1]).runIds.first)
        _ = await eventually { ledger.runIdByOrder["c-1"] != nil }

        let cancel = try await client.request(.POST, "/v1/runs/\(runId)/cancel")
        #expect(cancel.status == 200)
        #expect(cancel.json?["status"]?.stringValue == "cancelled")
        let again = try await client.request(.POST, "/v1/runs/\(runId)/cancel")
        #expect(again.status == 409)
        #expect(again.json?["error"]?["code"]?.stringValue == "conflict")
        let unknown = try await client.request(.POST, "/v1/runs/01NOPE/cancel")
        #expect(unknown.status == 404)

        // The step in flight finishes on the worker, and nothing after it runs.
        try await Task.sleep(for: .milliseconds(800))
        #expect(ledger.totalExecutions <= 1)
        let run = try await client.runJSON(runId)
        #expect(run["status"]?.stringValue == "cancelled")
        #expect(run["steps"]?.arrayValue?.isEmpty == true)
        let status = try await client.request(.GET, "/v1/status").json
        #expect(status?["capacity"]?["inFlight"]?.int64Value == 0)
        await worker.shutdown()
        await coordinator.shutdown()
    }
}
