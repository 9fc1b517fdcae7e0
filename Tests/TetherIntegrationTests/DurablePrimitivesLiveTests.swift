import Foundation
import Synchronization
import Testing
import Tether
import TetherClient
import TetherEngine

/// Records when things happened inside step closures, for the live tests.
final class Timeline: Sendable {
    private let marks = Mutex<[String: [ContinuousClock.Instant]]>([:])
    private let workers = Mutex<[String: Set<String>]>([:])

    func mark(_ name: String, worker: String = "") {
        marks.withLock { $0[name, default: []].append(.now) }
        if !worker.isEmpty { workers.withLock { $0[name, default: []].insert(worker) } }
    }

    func count(_ name: String) -> Int { marks.withLock { $0[name]?.count ?? 0 } }
    func first(_ name: String) -> ContinuousClock.Instant? { marks.withLock { $0[name]?.first } }
    func workers(_ prefix: String) -> Set<String> {
        workers.withLock { $0.filter { $0.key.hasPrefix(prefix) }.values.reduce(into: Set()) { $0.formUnion($1) } }
    }
}

struct Item: Codable, Sendable {
    var id: String
}

struct Approval: Codable, Sendable {
    var id: String
    var by: String
}

@Suite("Durable primitives, live over TLS and RocksDB", .serialized)
struct DurablePrimitivesLiveTests {
    static func post(_ client: TetherClient, _ name: String, _ data: JSONValue, id: String? = nil) async throws -> [String] {
        var event: JSONValue = ["name": .string(name), "data": data]
        if let id, case .object(var object) = event {
            object["id"] = .string(id)
            event = .object(object)
        }
        let response = try await client.request(.POST, "/v1/events", body: event.serialized())
        try response.throwIfError()
        return (response.json?["events"]?[0]?["runs"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    static func connected(_ client: TetherClient, workers: Int) async throws -> Bool {
        try await eventually { try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == workers }
    }

    @Test("step.sleep: the run sleeps without holding a slot, then resumes")
    func sleep() async throws {
        let coordinator = try await TestCoordinator()
        let timeline = Timeline()
        let function = TetherFunction("napper", trigger: .event("nap/start")) { (ctx: Context<Item>) -> String in
            try await ctx.step.run("before") { timeline.mark("before") }
            try await ctx.step.sleep("nap", for: .milliseconds(1_500))
            try await ctx.step.run("after") { timeline.mark("after") }
            return "rested"
        }
        let worker = TestWorker(functions: [function], options: coordinator.workerOptions(instanceId: "w", capacity: 1))
        let client = try coordinator.client()
        #expect(try await Self.connected(client, workers: 1))

        let runId = try #require(try await Self.post(client, "nap/start", ["id": "x"]).first)
        let slept = try await eventually { try await client.runJSON(runId)["status"]?.stringValue == "sleeping" }
        #expect(slept)
        let status = try await client.request(.GET, "/v1/status").json
        #expect(status?["capacity"]?["inFlight"]?.int64Value == 0, "a sleeping run holds no slot")
        let sleeping = try await client.runJSON(runId)
        #expect(sleeping["steps"]?[1]?["kind"]?.stringValue == "sleep")
        #expect(sleeping["steps"]?[1]?["wakeAt"]?.stringValue != nil)

        let run = try #require(try await client.waitForRuns([runId])[runId])
        #expect(run["status"]?.stringValue == "completed")
        #expect(run["output"]?.stringValue == "rested")
        let before = try #require(timeline.first("before"))
        let after = try #require(timeline.first("after"))
        #expect(after - before >= .milliseconds(1_400))
        #expect(timeline.count("before") == 1 && timeline.count("after") == 1)
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("step.waitForEvent: a matching event resumes the run at once; none gives nil at the timeout")
    func waitForEvent() async throws {
        let coordinator = try await TestCoordinator()
        let timeline = Timeline()
        let function = TetherFunction("approve", trigger: .event("order/placed")) { (ctx: Context<Item>) -> String in
            let approval: Event<Approval>? = try await ctx.step.waitForEvent(
                "approval", event: "order/approved", match: "async.data.id == event.data.id",
                timeout: .milliseconds(ctx.event.data.id == "lonely" ? 800 : 60_000))
            try await ctx.step.run("resumed") { timeline.mark("resumed-\(ctx.event.data.id)") }
            return approval.map { "approved by \($0.data.by)" } ?? "timed out"
        }
        let worker = TestWorker(functions: [function], options: coordinator.workerOptions(instanceId: "w", capacity: 4))
        let client = try coordinator.client()
        #expect(try await Self.connected(client, workers: 1))

        let approved = try #require(try await Self.post(client, "order/placed", ["id": "o-1"]).first)
        let lonely = try #require(try await Self.post(client, "order/placed", ["id": "lonely"]).first)
        #expect(try await eventually { try await client.runJSON(approved)["status"]?.stringValue == "waiting" })
        // Another order's approval does not match.
        _ = try await Self.post(client, "order/approved", ["id": "o-2", "by": "mallory"])
        let sentAt = ContinuousClock.now
        _ = try await Self.post(client, "order/approved", ["id": "o-1", "by": "ann"])
        let runs = try await client.waitForRuns([approved, lonely])
        #expect(runs[approved]?["output"]?.stringValue == "approved by ann")
        #expect(runs[lonely]?["output"]?.stringValue == "timed out")
        #expect(runs[approved]?["steps"]?[0]?["output"]?["data"]?["by"]?.stringValue == "ann")
        if let resumed = timeline.first("resumed-o-1") {
            print("waitForEvent: event sent → next step running in \(resumed - sentAt)")
        }
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("sendEvent triggers another function once; invoke returns a child's output or throws its error")
    func sendEventAndInvoke() async throws {
        let coordinator = try await TestCoordinator()
        let timeline = Timeline()
        let notified = TetherFunction("on-paid", trigger: .event("order/paid")) { (ctx: Context<Item>) in
            try await ctx.step.run("note") { timeline.mark("paid-\(ctx.event.data.id)") }
        }
        let double = TetherFunction("double", trigger: .event("never/sent")) { (ctx: Context<[String: Int]>) -> Int in
            let value = ctx.event.data["value"] ?? 0
            if value < 0 { throw NonRetriableError("negative values are refused") }
            return try await ctx.step.run("compute") { value * 2 }
        }
        let parent = TetherFunction("parent", trigger: .event("order/created")) { (ctx: Context<Item>) -> String in
            let ids = try await ctx.step.sendEvent("notify", [OutgoingEvent(name: "order/paid", data: Item(id: ctx.event.data.id))])
            let doubled: Int = try await ctx.step.invoke("double", function: "double", data: ["value": 21])
            do {
                let _: Int = try await ctx.step.invoke("refused", function: "double", data: ["value": -1])
                return "unexpected"
            } catch let error as StepError {
                return "sent \(ids.count), doubled \(doubled), refused: \(error.message)"
            }
        }
        let worker = TestWorker(
            functions: [notified, double, parent], options: coordinator.workerOptions(instanceId: "w", capacity: 4))
        let client = try coordinator.client()
        #expect(try await Self.connected(client, workers: 1))

        let runId = try #require(try await Self.post(client, "order/created", ["id": "o-9"]).first)
        let run = try #require(try await client.waitForRuns([runId])[runId])
        #expect(run["status"]?.stringValue == "completed")
        let output = run["output"]?.stringValue ?? ""
        #expect(output.hasPrefix("sent 1, doubled 42, refused: "))
        #expect(output.contains("negative values are refused"))
        let steps = run["steps"]?.arrayValue ?? []
        #expect(steps.map { $0["kind"]?.stringValue } == ["sendEvent", "invoke", "invoke"])
        #expect(steps[1]["childRun"]?.stringValue != nil)
        #expect(try await eventually { timeline.count("paid-o-9") == 1 })
        // Replays of the parent never sent the event again.
        try await Task.sleep(for: .milliseconds(200))
        #expect(timeline.count("paid-o-9") == 1)
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("parallel steps run at the same time on different workers; the run resumes when all are done")
    func parallelSteps() async throws {
        let coordinator = try await TestCoordinator()
        let timeline = Timeline()
        let concurrent = Mutex((now: 0, peak: 0))
        let work: @Sendable (String, String) async throws -> String = { name, worker in
            concurrent.withLock {
                $0.now += 1
                $0.peak = max($0.peak, $0.now)
            }
            timeline.mark("step-\(name)", worker: worker)
            try await Task.sleep(for: .milliseconds(300))
            concurrent.withLock { $0.now -= 1 }
            return name.uppercased()
        }
        func fanout(worker: String) -> TetherFunction {
            TetherFunction("fanout", trigger: .event("fan/out")) { (ctx: Context<Item>) -> String in
                async let a: String = ctx.step.run("a") { try await work("a", worker) }
                async let b: String = ctx.step.run("b") { try await work("b", worker) }
                async let c: String = ctx.step.run("c") { try await work("c", worker) }
                let joined = try await [a, b, c].joined()
                try await ctx.step.run("after") { timeline.mark("after") }
                return joined
            }
        }
        let workers = ["w1", "w2", "w3"].map { name in
            TestWorker(functions: [fanout(worker: name)], options: coordinator.workerOptions(instanceId: name, capacity: 1))
        }
        let client = try coordinator.client()
        #expect(try await Self.connected(client, workers: 3))

        let runId = try #require(try await Self.post(client, "fan/out", ["id": "f"]).first)
        let run = try #require(try await client.waitForRuns([runId])[runId])
        #expect(run["status"]?.stringValue == "completed")
        #expect(run["output"]?.stringValue == "ABC")
        #expect(concurrent.withLock { $0.peak } == 3, "all three ran at once (none ran alone first)")
        #expect(timeline.workers("step-").count == 3, "one on each worker")
        for name in ["a", "b", "c"] { #expect(timeline.count("step-\(name)") == 1) }
        #expect(timeline.count("after") == 1)
        for worker in workers { await worker.shutdown() }
        await coordinator.shutdown()
    }

    @Test("cancelOn, the cancel endpoint and timeouts.finish end runs as cancelled and drop their timers")
    func cancellation() async throws {
        let coordinator = try await TestCoordinator()
        let timeline = Timeline()
        let function = TetherFunction(
            "cancellable", trigger: .event("job/start"),
            cancelOn: [CancelOn(event: "job/stop", if: "async.data.id == event.data.id")],
            timeouts: Timeouts(finish: .seconds(2))
        ) { (ctx: Context<Item>) -> String in
            try await ctx.step.sleep("long", for: .seconds(3_600))
            try await ctx.step.run("never") { timeline.mark("never") }
            return "done"
        }
        let worker = TestWorker(functions: [function], options: coordinator.workerOptions(instanceId: "w", capacity: 2))
        let client = try coordinator.client()
        #expect(try await Self.connected(client, workers: 1))

        let byEvent = try #require(try await Self.post(client, "job/start", ["id": "a"]).first)
        let byAPI = try #require(try await Self.post(client, "job/start", ["id": "b"]).first)
        let byTimeout = try #require(try await Self.post(client, "job/start", ["id": "c"]).first)
        #expect(try await eventually { try await client.runJSON(byEvent)["status"]?.stringValue == "sleeping" })
        _ = try await Self.post(client, "job/stop", ["id": "a"])
        let cancelled = try await client.request(.POST, "/v1/runs/\(byAPI)/cancel")
        #expect(cancelled.status == 200)
        let runs = try await client.waitForRuns([byEvent, byAPI, byTimeout])
        #expect(runs.values.allSatisfy { $0["status"]?.stringValue == "cancelled" })
        #expect(runs[byEvent]?["error"]?["message"]?.stringValue?.contains("job/stop") == true)
        #expect(runs[byTimeout]?["error"]?["code"]?.stringValue == "run_timed_out")
        #expect(timeline.count("never") == 0)
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("onFailure runs with the failed run's event and error; an idempotency key starts one run")
    func onFailureAndIdempotency() async throws {
        let coordinator = try await TestCoordinator()
        let failures = Mutex<[String]>([])
        let function = TetherFunction(
            "fragile", trigger: .event("fragile/go"), retries: 0, idempotency: "event.data.id",
            onFailure: { (ctx: FailureContext<Item>) in
                try await ctx.step.run("record") {
                    failures.withLock { $0.append("\(ctx.event.data.id): \(ctx.error.message)") }
                }
            }
        ) { (ctx: Context<Item>) -> String in
            try await ctx.step.run("explode") { () -> String in throw NonRetriableError("kaboom") }
        }
        let worker = TestWorker(functions: [function], options: coordinator.workerOptions(instanceId: "w", capacity: 2))
        let client = try coordinator.client()
        #expect(try await Self.connected(client, workers: 1))

        let first = try await Self.post(client, "fragile/go", ["id": "k-1"])
        let second = try await Self.post(client, "fragile/go", ["id": "k-1"])
        #expect(first.count == 1)
        #expect(second.isEmpty, "the same idempotency key starts no second run")
        let run = try #require(try await client.waitForRuns(first)[first[0]])
        #expect(run["status"]?.stringValue == "failed")
        #expect(await eventually { failures.withLock { !$0.isEmpty } })
        #expect(failures.withLock { $0.first?.hasPrefix("k-1: ") } == true)
        #expect(failures.withLock { $0.first?.contains("kaboom") } == true)
        await worker.shutdown()
        await coordinator.shutdown()
    }
}

@Suite("Cron triggers, live", .serialized)
struct CronLiveTests {
    /// Runs of `function`, oldest first, with their cron tick.
    static func cronRuns(_ client: TetherClient, function: String) async throws -> [(id: String, scheduledAt: Int64)] {
        let list = try await client.request(.GET, "/v1/runs?function=\(function)&limit=50").json
        var runs: [(String, Int64)] = []
        for summary in list?["runs"]?.arrayValue ?? [] {
            guard let id = summary["id"]?.stringValue else { continue }
            let run = try await client.runJSON(id)
            runs.append((id, run["event"]?["data"]?["scheduledAt"]?.int64Value ?? 0))
        }
        return runs.sorted { $0.1 < $1.1 }
    }

    @Test("a cron tick starts one run; a restart neither repeats it nor loses the missed ticks (fired once)")
    func cronAcrossRestarts() async throws {
        let directory = try TemporaryDirectory("tether-cron")
        let credentials = try TestCredentials(in: directory.path)
        // The scheduler's clock is shifted so that a minute boundary comes 700 ms after the start; it
        // runs at the real rate (leases and heartbeats are unaffected).
        let wall = Int64(Date().timeIntervalSince1970 * 1_000)
        let boundary = (wall / 60_000 + 1) * 60_000
        let offset = boundary - 700 - wall
        func start(shift: Int64) async throws -> TestCoordinator {
            try await TestCoordinator(directory: directory.path, credentials: credentials) { configuration in
                configuration.clock = { Int64(Date().timeIntervalSince1970 * 1_000) + offset + shift }
            }
        }

        var coordinator = try await start(shift: 0)
        let report = TetherFunction("report", trigger: .cron("* * * * *")) { (ctx: Context<[String: JSONValue]>) in }
        let worker = TestWorker(functions: [report], options: coordinator.workerOptions(instanceId: "w", capacity: 1))
        var client = try coordinator.client()
        #expect(try await eventually { try await Self.cronRuns(client, function: "shop:report").count == 1 })
        var runs = try await Self.cronRuns(client, function: "shop:report")
        #expect(runs.map(\.scheduledAt) == [boundary])
        #expect(try await client.runJSON(runs[0].id)["event"]?["name"]?.stringValue == "tether/cron")
        await worker.shutdown()
        await coordinator.shutdown()

        // Restarted right after the tick: it does not fire again.
        coordinator = try await start(shift: 0)
        client = try coordinator.client()
        try await Task.sleep(for: .milliseconds(1_000))
        #expect(try await Self.cronRuns(client, function: "shop:report").count == 1)
        await coordinator.shutdown()

        // Restarted as if it had been down for two more ticks: they fire once, as the latest.
        coordinator = try await start(shift: 150_000)
        client = try coordinator.client()
        #expect(try await eventually { try await Self.cronRuns(client, function: "shop:report").count == 2 })
        try await Task.sleep(for: .milliseconds(500))
        runs = try await Self.cronRuns(client, function: "shop:report")
        #expect(runs.map(\.scheduledAt) == [boundary, boundary + 120_000])
        await coordinator.shutdown()
    }
}
