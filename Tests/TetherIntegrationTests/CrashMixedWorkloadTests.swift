import Foundation
import TetherProcess
import Synchronization
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

struct MixInput: Codable, Sendable {
    var i: Int
}

/// Counts step closure executions by "i/step", and the most bodies each worker ran at once.
final class ExecutionCounter: Sendable {
    private struct State {
        var counts: [String: Int] = [:]
        var running: [String: Int] = [:]
        var maxRunning: [String: Int] = [:]
    }
    private let state = Mutex(State())
    func record(_ key: String) { state.withLock { $0.counts[key, default: 0] += 1 } }
    var snapshot: [String: Int] { state.withLock { $0.counts } }
    var maxRunning: [String: Int] { state.withLock { $0.maxRunning } }

    /// Runs a step body on `worker`, counting it as running meanwhile.
    func body<T: Sendable>(on worker: String, _ work: () async throws -> T) async rethrows -> T {
        state.withLock { state in
            state.running[worker, default: 0] += 1
            state.maxRunning[worker] = max(state.maxRunning[worker] ?? 0, state.running[worker]!)
        }
        defer { state.withLock { $0.running[worker, default: 0] -= 1 } }
        return try await work()
    }
}

/// The mixed workload: parallel steps, a sleep, a wait (every third run), a step that fails
/// twice before it succeeds (every fourth run), and an invoke.
func mixedFunctions(counter: ExecutionCounter, worker: String = "", stepMilliseconds: Int64 = 25) -> [TetherFunction] {
    let child = TetherFunction("mix-child", trigger: .event("mix/never")) { (ctx: Context<MixInput>) -> Int in
        try await ctx.step.run("double") { () -> Int in
            try await counter.body(on: worker) {
                counter.record("\(ctx.event.data.i)/double")
                try await Task.sleep(for: .milliseconds(5))
                return ctx.event.data.i * 2
            }
        }
    }
    let mixed = TetherFunction("mix", trigger: .event("mix/start"), retries: 3) { (ctx: Context<MixInput>) -> String in
        let i = ctx.event.data.i
        @Sendable func work(_ name: String, _ value: Int) async throws -> Int {
            try await counter.body(on: worker) {
                counter.record("\(i)/\(name)")
                try await Task.sleep(for: .milliseconds(stepMilliseconds))
                return value
            }
        }
        let a: Int = try await ctx.step.run("a") { try await work("a", i) }
        async let b: Int = ctx.step.run("b") { try await work("b", i + 1) }
        async let c: Int = ctx.step.run("c") { try await work("c", i + 2) }
        let (bValue, cValue) = try await (b, c)
        try await ctx.step.sleep("nap", for: .milliseconds(300 + (i % 5) * 200))
        var approved = false
        if i % 3 == 0 {
            let approval: Event<MixInput>? = try await ctx.step.waitForEvent(
                "approval", event: "mix/approve", match: "async.data.i == event.data.i", timeout: .seconds(300))
            approved = approval != nil
        }
        var flaky = "-"
        if i % 4 == 0 {
            flaky = try await ctx.step.run("flaky") { () -> String in
                counter.record("\(i)/flaky-attempt")
                if ctx.attempt < 3 { throw RetryAfterError("not yet", after: .milliseconds(50)) }
                counter.record("\(i)/flaky")
                return "ok"
            }
        }
        let doubled: Int = try await ctx.step.invoke("child", function: "mix-child", data: MixInput(i: i))
        return "a=\(a) b=\(bValue) c=\(cValue) approved=\(approved) flaky=\(flaky) child=\(doubled)"
    }
    return [mixed, child]
}

func expectedMixOutput(_ i: Int) -> String {
    "a=\(i) b=\(i + 1) c=\(i + 2) approved=\(i % 3 == 0) flaky=\(i % 4 == 0 ? "ok" : "-") child=\(i * 2)"
}

@Suite("Crash under a mixed workload", .serialized)
struct CrashMixedWorkloadTests {
    /// CI runs 5 kills over 40 runs; `TETHER_CRASH_KILLS`, `TETHER_CRASH_RUNS` and
    /// `TETHER_CRASH_STEP_MS` make it the long version (20 kills, 300 runs, 200 ms steps).
    @Test("SIGKILLs under sleeps, waits, retries, invokes and parallel steps, healthy workers: every run ends as without crashes, no step body runs twice, capacity holds")
    func kills() async throws {
        let environment = ProcessInfo.processInfo.environment
        let killCount = environment["TETHER_CRASH_KILLS"].flatMap(Int.init) ?? 5
        let count = environment["TETHER_CRASH_RUNS"].flatMap(Int.init) ?? 40
        let stepMilliseconds = environment["TETHER_CRASH_STEP_MS"].flatMap(Int64.init) ?? 25
        var generator = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        let directory = try TemporaryDirectory("tether-crash-mix")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        var coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, checksInvariants: true, logPath: directory.path + "/coordinator-0.log")
        let options = coordinator.workerOptions
        let counter = ExecutionCounter()
        let capacities = ["m1": 4, "m2": 6]
        let workers = try capacities.sorted { $0.key < $1.key }.map { name, capacity in
            TestWorker(
                app: "mixapp", functions: mixedFunctions(counter: counter, worker: name, stepMilliseconds: stepMilliseconds),
                options: try options(name, capacity))
        }
        let client = try coordinator.client()
        #expect(try await eventually { try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 2 })

        var runIds: [String] = []
        for batch in stride(from: 0, to: count, by: 100) {
            let events: [JSONValue] = (batch..<min(count, batch + 100)).map { ["name": "mix/start", "data": ["i": .int(Int64($0))]] }
            let response = try await client.request(.POST, "/v1/events", body: JSONValue.array(events).serialized())
            runIds += (response.json?["events"]?.arrayValue ?? []).compactMap { $0["runs"]?[0]?.stringValue }
        }
        #expect(runIds.count == count)

        // Approvals: sent for each waiting run once its wait shows, again if a crash lost it.
        // Meanwhile every run read must not contradict its steps.
        let contradictions = Mutex<[String]>([])
        let approver = Task { [runIds] in
            var sentAt: [Int: ContinuousClock.Instant] = [:]
            while !Task.isCancelled {
                for i in 0..<count {
                    guard let run = try? await client.runJSON(runIds[i]) else { continue }
                    let steps = run["steps"]?.arrayValue ?? []
                    let status = run["status"]?.stringValue ?? ""
                    if !steps.isEmpty && (status == "queued" || run["startedAt"]?.isNull != false) {
                        contradictions.withLock { $0.append("run \(i): \(status) with \(steps.count) steps") }
                    }
                    guard i % 3 == 0 else { continue }
                    let waiting = steps.contains {
                        $0["id"]?.stringValue == "approval" && $0["status"]?.stringValue == "waiting"
                    }
                    guard waiting, sentAt[i].map({ ContinuousClock.now - $0 > .seconds(3) }) ?? true else { continue }
                    let approval: JSONValue = ["name": "mix/approve", "data": ["i": .int(Int64(i))]]
                    if let sent = try? await client.request(.POST, "/v1/events", body: approval.serialized()), sent.status == 200 {
                        sentAt[i] = .now
                    }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }

        // Kills at random moments while the runs are in progress.
        var kills = 0
        for round in 1...killCount {
            try await Task.sleep(for: .milliseconds(Int64(150 + generator.next() % 900)))
            let done = counter.snapshot.values.reduce(0, +)
            await coordinator.process.stop(signal: SIGKILL)
            #expect(coordinator.brokeNoInvariant, "coordinator \(round - 1) trapped:\n\(coordinator.process.log.suffix(2_000))")
            kills += 1
            print("crash test: kill \(round) after \(done) step executions")
            coordinator = try await ChildCoordinator.start(
                dataDirectory: data, httpPort: httpPort, workerPort: workerPort,
                checksInvariants: true, logPath: directory.path + "/coordinator-\(round).log")
        }
        #expect(kills == killCount)

        let finished = try await coordinator.client().waitForRuns(runIds, timeout: .seconds(600))
        approver.cancel()
        #expect(coordinator.brokeNoInvariant, "the last coordinator trapped:\n\(coordinator.process.log.suffix(2_000))")
        #expect(coordinator.process.log.contains("checksInvariants=true"), "the coordinator checked its invariants")
        #expect(finished.count == count)
        for (i, runId) in runIds.enumerated() {
            let run = finished[runId]
            #expect(run?["status"]?.stringValue == "completed", "run \(i): \(run.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "")")
            #expect(run?["output"]?.stringValue == expectedMixOutput(i), "run \(i)")
        }

        // The workers stayed healthy: no step body ran twice, and no worker ran more at once
        // than its capacity.
        let childRuns = Set(finished.values.flatMap { run in
            (run["steps"]?.arrayValue ?? []).compactMap { $0["childRun"]?.stringValue }
        })
        let executions = counter.snapshot
        var repeated: [String] = []
        for (i, runId) in runIds.enumerated() {
            let child = (finished[runId]?["steps"]?.arrayValue ?? []).first { $0["id"]?.stringValue == "child" }?["childRun"]?
                .stringValue ?? ""
            #expect(childRuns.contains(child))
            var steps = ["a", "b", "c"]
            if i % 4 == 0 { steps.append("flaky") }
            for step in steps + ["double"] {
                let key = "\(i)/\(step)"
                let ran = executions[key] ?? 0
                #expect(ran >= 1, "\(key) never ran")
                if ran > 1 { repeated.append(key) }
            }
            if i % 4 == 0 {
                #expect((executions["\(i)/flaky-attempt"] ?? 0) == 3, "the flaky step failed twice first, then succeeded")
            }
        }
        #expect(repeated.isEmpty, "step bodies run twice: \(repeated.sorted())")
        for (name, capacity) in capacities {
            #expect(counter.maxRunning[name, default: 0] <= capacity, "\(name) ran \(counter.maxRunning[name, default: 0]) at once")
        }
        let seen = contradictions.withLock { $0 }
        #expect(seen.isEmpty, "\(seen.prefix(5))")
        print(
            "crash test: \(kills) SIGKILLs, \(count) runs completed, \(executions.values.reduce(0, +)) step executions; "
                + "run twice: \(repeated.count); most at once: \(counter.maxRunning.sorted { $0.key < $1.key }); "
                + "contradictions: \(seen.count)")
        for worker in workers { await worker.shutdown() }
        await coordinator.process.stop()
    }
}
