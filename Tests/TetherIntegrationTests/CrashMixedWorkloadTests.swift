import Foundation
import Synchronization
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

struct MixInput: Codable, Sendable {
    var i: Int
}

/// Counts step closure executions by "i/step".
final class ExecutionCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func record(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }
    var snapshot: [String: Int] { counts.withLock { $0 } }
}

/// The mixed workload: parallel steps, a sleep, a wait (every third run), a step that fails
/// twice before it succeeds (every fourth run), and an invoke.
func mixedFunctions(counter: ExecutionCounter) -> [TetherFunction] {
    let child = TetherFunction("mix-child", trigger: .event("mix/never")) { (ctx: Context<MixInput>) -> Int in
        try await ctx.step.run("double") { () -> Int in
            counter.record("\(ctx.event.data.i)/double")
            try await Task.sleep(for: .milliseconds(5))
            return ctx.event.data.i * 2
        }
    }
    let mixed = TetherFunction("mix", trigger: .event("mix/start"), retries: 3) { (ctx: Context<MixInput>) -> String in
        let i = ctx.event.data.i
        @Sendable func work(_ name: String, _ value: Int) async throws -> Int {
            counter.record("\(i)/\(name)")
            try await Task.sleep(for: .milliseconds(25))
            return value
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
    @Test("5 SIGKILLs under sleeps, waits, retries, invokes and parallel steps: every run ends as without crashes")
    func fiveKills() async throws {
        var generator = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        let directory = try TemporaryDirectory("tether-crash-mix")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        var coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, logPath: directory.path + "/coordinator-0.log")
        let options = coordinator.workerOptions
        let counter = ExecutionCounter()
        let workers = [
            TestWorker(app: "mixapp", functions: mixedFunctions(counter: counter), options: try options("m1", 4)),
            TestWorker(app: "mixapp", functions: mixedFunctions(counter: counter), options: try options("m2", 6)),
        ]
        let client = try coordinator.client()
        #expect(try await eventually { try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 2 })

        let count = 40
        let events: [JSONValue] = (0..<count).map { ["name": "mix/start", "data": ["i": .int(Int64($0))]] }
        let response = try await client.request(.POST, "/v1/events", body: JSONValue.array(events).serialized())
        let runIds = (response.json?["events"]?.arrayValue ?? []).compactMap { $0["runs"]?[0]?.stringValue }
        #expect(runIds.count == count)

        // Approvals: sent for each waiting run once its wait shows, again if a crash lost it.
        let approver = Task {
            var sentAt: [Int: ContinuousClock.Instant] = [:]
            while !Task.isCancelled {
                for i in stride(from: 0, to: count, by: 3) {
                    guard let run = try? await client.run(runIds[i]) else { continue }
                    let waiting = (run["steps"]?.arrayValue ?? []).contains {
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

        // Five kills at random moments while the runs are in progress.
        var exemptKeys: Set<String> = []
        var kills = 0
        for round in 1...5 {
            try await Task.sleep(for: .milliseconds(Int64(150 + generator.next() % 900)))
            // A step in flight or whose result was not yet acknowledged may run again: its
            // result was never durable. Everything else must not.
            for worker in workers { exemptKeys.formUnion(worker.runsNotYetDurable) }
            let done = counter.snapshot.values.reduce(0, +)
            await coordinator.process.stop(signal: SIGKILL)
            // Again after the kill: a step dispatched between the first look and the signal was in
            // flight at the kill too (its result cannot have become durable).
            for worker in workers { exemptKeys.formUnion(worker.runsNotYetDurable) }
            kills += 1
            print("crash test: kill \(round) after \(done) step executions")
            coordinator = try await ChildCoordinator.start(
                dataDirectory: data, httpPort: httpPort, workerPort: workerPort,
                logPath: directory.path + "/coordinator-\(round).log")
        }
        #expect(kills == 5)

        let finished = try await coordinator.client().waitForRuns(runIds, timeout: .seconds(240))
        approver.cancel()
        #expect(finished.count == count)
        for (i, runId) in runIds.enumerated() {
            let run = finished[runId]
            #expect(run?["status"]?.stringValue == "completed", "run \(i): \(run.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "")")
            #expect(run?["output"]?.stringValue == expectedMixOutput(i), "run \(i)")
        }

        // No completed step ran twice, except one in flight (or unacknowledged) at a kill.
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
                if ran > 1 {
                    repeated.append(key)
                    let owner = step == "double" ? child : runId
                    #expect(exemptKeys.contains(owner), "\(key) ran \(ran) times without being in flight at a kill")
                }
            }
            if i % 4 == 0 {
                #expect((executions["\(i)/flaky-attempt"] ?? 0) >= 3, "the flaky step failed twice first")
            }
        }
        print("crash test: \(kills) SIGKILLs, \(count) runs completed; steps in flight at a kill: \(exemptKeys.count) runs; steps run again: \(repeated.count) \(repeated.sorted())")
        for worker in workers { await worker.shutdown() }
        await coordinator.process.stop()
    }
}
