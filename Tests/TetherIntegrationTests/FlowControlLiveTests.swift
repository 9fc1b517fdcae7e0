import Foundation
import Synchronization
import Testing
import Tether
import TetherClient
import TetherEngine

struct TenantJob: Codable, Sendable {
    var tenant: String
    var n: Int
    var priority: Int?
}

/// Counts step closures running at once, per key and in total, keeping the peaks.
final class ConcurrencyGauge: Sendable {
    private struct State {
        var running: [String: Int] = [:]
        var peaks: [String: Int] = [:]
        var total = 0
        var peakTotal = 0
    }

    private let state = Mutex(State())

    func enter(_ key: String) {
        state.withLock {
            $0.running[key, default: 0] += 1
            $0.total += 1
            $0.peaks[key] = max($0.peaks[key] ?? 0, $0.running[key]!)
            $0.peakTotal = max($0.peakTotal, $0.total)
        }
    }

    func leave(_ key: String) {
        state.withLock {
            $0.running[key, default: 0] -= 1
            $0.total -= 1
        }
    }

    var peaks: [String: Int] { state.withLock { $0.peaks } }
    var peakTotal: Int { state.withLock { $0.peakTotal } }
}

/// A latch step closures wait on, polled (the closures run on the worker's executor).
final class Gate: Sendable {
    private let open = Mutex(false)
    func release() { open.withLock { $0 = true } }
    func wait() async throws {
        while !open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
    }
}

/// An ordered log of strings appended from step closures.
final class Log: Sendable {
    private let entries = Mutex<[(String, ContinuousClock.Instant)]>([])
    func append(_ entry: String) { entries.withLock { $0.append((entry, .now)) } }
    var values: [String] { entries.withLock { $0.map(\.0) } }
    var timed: [(String, ContinuousClock.Instant)] { entries.withLock { $0 } }
}

@Suite("Flow control, live over TLS and RocksDB", .serialized)
struct FlowControlLiveTests {
    /// Sends events (one POST) and returns each event's result object.
    static func send(_ client: TetherClient, _ name: String, _ jobs: [TenantJob]) async throws -> [JSONValue] {
        let events: [JSONValue] = try jobs.map { job in
            ["name": .string(name), "data": try JSONValue(parsing: Array(try JSONEncoder().encode(job)))]
        }
        let response = try await client.request(.POST, "/v1/events", body: JSONValue.array(events).serialized())
        try response.throwIfError()
        return response.json?["events"]?.arrayValue ?? []
    }

    static func runs(_ results: [JSONValue]) -> [String] {
        results.flatMap { ($0["runs"]?.arrayValue ?? []).compactMap(\.stringValue) }
    }

    static func functionStatus(_ client: TetherClient, _ id: String) async throws -> JSONValue? {
        try await client.request(.GET, "/v1/status").json?["functions"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }

    static func start(_ functions: [TetherFunction], capacity: Int, workers: Int = 1) async throws
        -> (TestCoordinator, [TestWorker], TetherClient)
    {
        let coordinator = try await TestCoordinator()
        let started = (0..<workers).map {
            TestWorker(functions: functions, options: coordinator.workerOptions(instanceId: "w\($0)", capacity: capacity))
        }
        let client = try coordinator.client()
        let connected = try await eventually {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == workers
        }
        #expect(connected)
        return (coordinator, started, client)
    }

    static func stop(_ coordinator: TestCoordinator, _ workers: [TestWorker]) async {
        for worker in workers { await worker.shutdown() }
        await coordinator.shutdown()
    }

    @Test("concurrency: 2 per tenant and 3 in all, counted over running steps on two workers")
    func concurrency() async throws {
        let gauge = ConcurrencyGauge()
        let function = TetherFunction("limited", trigger: .event("job/run")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("work") {
                gauge.enter(ctx.event.data.tenant)
                defer { gauge.leave(ctx.event.data.tenant) }
                try await Task.sleep(for: .milliseconds(60))
            }
        }
        .concurrency(limit: 3)
        .concurrency(limit: 2, key: "event.data.tenant")
        let (coordinator, workers, client) = try await Self.start([function], capacity: 8, workers: 2)
        let jobs = (0..<6).flatMap { n in ["a", "b", "c"].map { TenantJob(tenant: $0, n: n) } }
        let runIds = Self.runs(try await Self.send(client, "job/run", jobs))
        #expect(runIds.count == 18)
        let finished = try await client.waitForRuns(runIds)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        #expect(gauge.peaks.values.allSatisfy { $0 <= 2 }, "per tenant: \(gauge.peaks)")
        #expect(gauge.peakTotal <= 3)
        #expect(gauge.peakTotal >= 2, "the limit was reached: steps did overlap")
        await Self.stop(coordinator, workers)
    }

    @Test("fairness: tenant A queues 5,000 runs, then B 10; with 5 per tenant, B's 10 finish before A's 200th")
    func fairness() async throws {
        let log = Log()
        let gate = Gate()
        let function = TetherFunction("per-tenant", trigger: .event("tenant/work")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("work") {
                try await gate.wait()
                log.append(ctx.event.data.tenant)
            }
        }
        .concurrency(limit: 5, key: "event.data.tenant")
        let (coordinator, workers, client) = try await Self.start([function], capacity: 16, workers: 2)

        // A's backlog first, in ten posts of 500; the first five of A hold their slots at the gate
        // until B's runs are queued too, so both tenants start from a full backlog.
        var aRuns: [String] = []
        for chunk in 0..<10 {
            let jobs = (0..<500).map { TenantJob(tenant: "a", n: chunk * 500 + $0) }
            aRuns += Self.runs(try await Self.send(client, "tenant/work", jobs))
        }
        let bRuns = Self.runs(try await Self.send(client, "tenant/work", (0..<10).map { TenantJob(tenant: "b", n: $0) }))
        #expect(aRuns.count == 5_000 && bRuns.count == 10)
        let status = try await Self.functionStatus(client, "shop:per-tenant")
        print("fairness: queue at the gate: \(status.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "-")")
        #expect(status?["keys"]?.arrayValue?.first?["key"]?.stringValue == "\"a\"")
        gate.release()

        let bFinished = try await client.waitForRuns(bRuns)
        #expect(bFinished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        let order = log.values
        let lastB = try #require(order.lastIndex(of: "b"))
        let aBefore = order[..<lastB].filter { $0 == "a" }.count
        print("fairness: A steps finished before B's last: \(aBefore) (of 5,000 queued first)")
        #expect(aBefore < 200)
        await Self.stop(coordinator, workers)
    }

    @Test("throttle: 1 start per 300 ms with a burst of 1; excess runs wait their turn and none is dropped")
    func throttle() async throws {
        let log = Log()
        let function = TetherFunction("paced", trigger: .event("job/paced")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("start") { log.append("\(ctx.event.data.n)") }
        }
        .throttle(limit: 1, per: .milliseconds(300), burst: 1)
        let (coordinator, workers, client) = try await Self.start([function], capacity: 8)
        let sentAt = ContinuousClock.now
        let runIds = Self.runs(try await Self.send(client, "job/paced", (0..<6).map { TenantJob(tenant: "a", n: $0) }))
        #expect(runIds.count == 6, "every event starts a run")
        let finished = try await client.waitForRuns(runIds)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        let starts = log.timed.map { $0.1 - sentAt }.sorted()
        print("throttle: starts after the send: \(starts)")
        // Two at once (limit + burst), then one every 300 ms: the k-th start is no earlier than (k-1) × 300 ms.
        for (k, start) in starts.enumerated() where k >= 2 {
            #expect(start >= .milliseconds(300 * (k - 1) - 5), "start \(k) at \(start)")
        }
        await Self.stop(coordinator, workers)
    }

    @Test("rateLimit: events over 2 per minute per tenant start no run and are reported as skipped")
    func rateLimit() async throws {
        let function = TetherFunction("limited-rate", trigger: .event("job/rated")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("work") { ctx.event.data.n }
        }
        .rateLimit(limit: 2, per: .seconds(60), key: "event.data.tenant")
        let (coordinator, workers, client) = try await Self.start([function], capacity: 4)
        let jobs = [TenantJob(tenant: "a", n: 0), TenantJob(tenant: "a", n: 1), TenantJob(tenant: "a", n: 2), TenantJob(tenant: "b", n: 3)]
        let results = try await Self.send(client, "job/rated", jobs)
        #expect(results.map { $0["runs"]?.arrayValue?.count ?? -1 } == [1, 1, 0, 1])
        #expect(results[2]["skipped"]?[0]?["function"]?.stringValue == "shop:limited-rate")
        #expect(results[2]["skipped"]?[0]?["reason"]?.stringValue == "rate_limited")
        _ = try await client.waitForRuns(Self.runs(results))
        await Self.stop(coordinator, workers)
    }

    @Test("debounce: five events 100 ms apart start one run, 400 ms after the last, with the last event")
    func debounce() async throws {
        let log = Log()
        let function = TetherFunction("debounced", trigger: .event("job/typed")) { (ctx: Context<TenantJob>) -> Int in
            try await ctx.step.run("save") { log.append("\(ctx.event.data.tenant)\(ctx.event.data.n)") }
            return ctx.event.data.n
        }
        .debounce(.milliseconds(400), key: "event.data.tenant")
        let (coordinator, workers, client) = try await Self.start([function], capacity: 4)
        for n in 0..<5 {
            let result = try await Self.send(client, "job/typed", [TenantJob(tenant: "a", n: n)])
            #expect(result[0]["deferred"]?[0]?["reason"]?.stringValue == "debounced")
            #expect(result[0]["runs"]?.arrayValue?.isEmpty == true)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await Self.functionStatus(client, "shop:debounced")?["debouncing"]?.int64Value == 1)
        let ran = try await eventually { log.values == ["a4"] }
        #expect(ran)
        let list = try await client.request(.GET, "/v1/runs?function=shop:debounced").json?["runs"]?.arrayValue ?? []
        #expect(list.count == 1)
        try await Task.sleep(for: .milliseconds(600))
        #expect(log.values == ["a4"], "one run per quiet period")
        await Self.stop(coordinator, workers)
    }

    @Test("batchEvents: 3 events fill a batch at once; a lone event starts its run at the timeout")
    func batches() async throws {
        let function = TetherFunction("batched", trigger: .event("job/batched")) { (ctx: Context<TenantJob>) -> [Int] in
            try await ctx.step.run("sum") { ctx.events.map(\.data.n) }
        }
        .batchEvents(maxSize: 3, timeout: .milliseconds(500))
        let (coordinator, workers, client) = try await Self.start([function], capacity: 4)
        let full = try await Self.send(client, "job/batched", (0..<3).map { TenantJob(tenant: "a", n: $0) })
        #expect(full.map { $0["runs"]?.arrayValue?.count ?? -1 } == [0, 0, 1])
        #expect(full[0]["deferred"]?[0]?["reason"]?.stringValue == "batched")
        let fullRun = try #require(Self.runs(full).first)
        let lone = try await Self.send(client, "job/batched", [TenantJob(tenant: "a", n: 7)])
        #expect(Self.runs(lone).isEmpty)
        #expect(try await eventually { try await Self.functionStatus(client, "shop:batched")?["batched"]?.int64Value == 1 })
        let done = try await client.waitForRuns([fullRun])
        #expect(done[fullRun]?["output"]?.arrayValue?.compactMap(\.int64Value) == [0, 1, 2])
        let timedOut = try await eventually {
            let runs = try await client.request(.GET, "/v1/runs?function=shop:batched&status=completed").json?["runs"]?.arrayValue ?? []
            return runs.count == 2
        }
        #expect(timedOut)
        let runs = try await client.request(.GET, "/v1/runs?function=shop:batched").json?["runs"]?.arrayValue ?? []
        let loneRun = try #require(runs.compactMap { $0["id"]?.stringValue }.first { $0 != fullRun })
        #expect(try await client.runJSON(loneRun)["output"]?.arrayValue?.compactMap(\.int64Value) == [7])
        await Self.stop(coordinator, workers)
    }

    @Test("priority: with one slot, queued runs start by their head start in seconds")
    func priority() async throws {
        let log = Log()
        let gate = Gate()
        let blocker = TetherFunction("blocker", trigger: .event("job/block")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("hold") { try await gate.wait() }
        }
        let ranked = TetherFunction("ranked", trigger: .event("job/ranked")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("go") { log.append("\(ctx.event.data.n)") }
        }
        .priority("event.data.priority")
        let (coordinator, workers, client) = try await Self.start([blocker, ranked], capacity: 1)
        let held = Self.runs(try await Self.send(client, "job/block", [TenantJob(tenant: "x", n: 0)]))
        #expect(try await eventually { try await client.runJSON(held[0])["status"]?.stringValue == "running" })
        let jobs = [
            TenantJob(tenant: "a", n: 0, priority: 0), TenantJob(tenant: "a", n: 1, priority: -100),
            TenantJob(tenant: "a", n: 2, priority: 100), TenantJob(tenant: "a", n: 3, priority: 50),
            TenantJob(tenant: "a", n: 4, priority: nil),
        ]
        let runIds = Self.runs(try await Self.send(client, "job/ranked", jobs))
        gate.release()
        _ = try await client.waitForRuns(runIds + held)
        #expect(log.values == ["2", "3", "0", "4", "1"])
        await Self.stop(coordinator, workers)
    }

    @Test("singleton: skip refuses a second run of a key; cancel replaces the running one")
    func singleton() async throws {
        let gate = Gate()
        let log = Log()
        let skip = TetherFunction("only-one", trigger: .event("job/single")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("hold") { try await gate.wait() }
        }
        .singleton(key: "event.data.tenant", mode: .skip)
        let replace = TetherFunction("latest-wins", trigger: .event("job/latest")) { (ctx: Context<TenantJob>) -> Int in
            try await ctx.step.run("hold") {
                try await gate.wait()
                log.append("\(ctx.event.data.n)")
            }
            return ctx.event.data.n
        }
        .singleton(mode: .cancel)
        let (coordinator, workers, client) = try await Self.start([skip, replace], capacity: 8)

        let first = Self.runs(try await Self.send(client, "job/single", [TenantJob(tenant: "a", n: 0)]))
        let second = try await Self.send(client, "job/single", [TenantJob(tenant: "a", n: 1), TenantJob(tenant: "b", n: 2)])
        #expect(first.count == 1)
        #expect(second[0]["skipped"]?[0]?["reason"]?.stringValue == "singleton")
        #expect(second[1]["runs"]?.arrayValue?.count == 1, "another key runs")

        let old = Self.runs(try await Self.send(client, "job/latest", [TenantJob(tenant: "a", n: 10)]))
        #expect(try await eventually { try await client.runJSON(old[0])["status"]?.stringValue == "running" })
        let new = Self.runs(try await Self.send(client, "job/latest", [TenantJob(tenant: "a", n: 11)]))
        let cancelled = try await client.runJSON(old[0])
        #expect(cancelled["status"]?.stringValue == "cancelled")
        #expect(cancelled["error"]?["code"]?.stringValue == "cancelled")
        gate.release()
        let done = try await client.waitForRuns(new + first + Self.runs([second[1]]))
        #expect(done[new[0]]?["output"]?.int64Value == 11)
        #expect(done.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        await Self.stop(coordinator, workers)
    }
}
