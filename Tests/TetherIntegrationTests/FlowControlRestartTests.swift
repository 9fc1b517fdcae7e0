import Foundation
import TetherProcess
import Testing
import Tether
import TetherEngine

@Suite("Flow control across a SIGKILL of the coordinator", .serialized)
struct FlowControlRestartTests {
    @Test("a pending debounce, a pending batch and a throttled queue survive kill -9 and a restart")
    func survivesKill() async throws {
        let directory = try TemporaryDirectory("tether-flow-crash")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        var coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, logPath: directory.path + "/coordinator-0.log")
        let log = Log()
        let debounced = TetherFunction("debounced", trigger: .event("flow/typed")) { (ctx: Context<TenantJob>) -> Int in
            try await ctx.step.run("save") { log.append("debounced \(ctx.event.data.n)") }
            return ctx.event.data.n
        }
        .debounce(.seconds(2))
        let batched = TetherFunction("batched", trigger: .event("flow/item")) { (ctx: Context<TenantJob>) -> [Int] in
            try await ctx.step.run("sum") { () -> [Int] in
                log.append("batched \(ctx.events.count)")
                return ctx.events.map(\.data.n)
            }
        }
        .batchEvents(maxSize: 100, timeout: .seconds(2))
        let throttled = TetherFunction("throttled", trigger: .event("flow/paced")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("start") { log.append("throttled \(ctx.event.data.n)") }
        }
        .throttle(limit: 1, per: .milliseconds(500))
        let worker = TestWorker(functions: [debounced, batched, throttled], options: try coordinator.workerOptions(instanceId: "w", capacity: 8))
        let client = try coordinator.client()
        #expect(try await eventually { try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1 })

        let sentAt = ContinuousClock.now
        for n in 0..<3 { _ = try await FlowControlLiveTests.send(client, "flow/typed", [TenantJob(tenant: "a", n: n)]) }
        _ = try await FlowControlLiveTests.send(client, "flow/item", (0..<4).map { TenantJob(tenant: "a", n: $0) })
        let throttledAt = ContinuousClock.now
        let throttledRuns = FlowControlLiveTests.runs(
            try await FlowControlLiveTests.send(client, "flow/paced", (0..<6).map { TenantJob(tenant: "a", n: $0) }))
        #expect(throttledRuns.count == 6)
        let before = log.values
        // A step whose result was not durable yet may run again after the restart; nothing else may.
        // (Taken before and after the kill: a step may start in between.)
        var notDurable = worker.runsNotYetDurable
        await coordinator.process.stop(signal: SIGKILL)
        notDurable.formUnion(worker.runsNotYetDurable)
        print("flow crash test: killed \(ContinuousClock.now - sentAt) after the sends; done before the kill: \(before)")
        #expect(!before.contains { $0.hasPrefix("debounced") || $0.hasPrefix("batched") }, "killed before the timers")

        coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, logPath: directory.path + "/coordinator-1.log")
        let restarted = try coordinator.client()
        let finished = try await restarted.waitForRuns(throttledRuns)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        let settled = try await eventually {
            log.values.contains("debounced 2") && log.values.contains("batched 4")
        }
        #expect(settled, "log: \(log.values)")
        try await Task.sleep(for: .milliseconds(500))
        #expect(log.values.filter { $0.hasPrefix("debounced") } == ["debounced 2"], "one run, with the last event")
        #expect(log.values.filter { $0.hasPrefix("batched") } == ["batched 4"], "one run with the four events")
        // No throttled run started before its slot (0, 500, 1,000 … ms after the send), restart or not,
        // and only a step in flight at the kill ran twice.
        var firstStart: [String: Duration] = [:]
        for (entry, at) in log.timed where entry.hasPrefix("throttled") && firstStart[entry] == nil {
            firstStart[entry] = at - throttledAt
        }
        #expect(firstStart.count == 6)
        for n in 0..<6 {
            let start = try #require(firstStart["throttled \(n)"])
            #expect(start >= .milliseconds(500 * n - 5), "throttled \(n) started at \(start)")
            let runs = log.values.filter { $0 == "throttled \(n)" }.count
            #expect(runs == 1 || notDurable.contains(throttledRuns[n]), "throttled \(n) ran \(runs) times")
        }
        let batchRuns = try await restarted.request(.GET, "/v1/runs?function=shop:batched").json?["runs"]?.arrayValue ?? []
        let batchRun = try #require(batchRuns.first?["id"]?.stringValue)
        #expect(try await restarted.runJSON(batchRun)["output"]?.arrayValue?.compactMap(\.int64Value) == [0, 1, 2, 3])
        await worker.shutdown()
        await coordinator.process.stop()
    }
}
