// A worker process for crash tests: the test starts it, kills it (SIGKILL, SIGSTOP) mid-step
// and checks where the step ran. Configured by environment:
//   TETHER_* as for any worker (coordinator, key, CA, instance id, capacity, app version);
//   TETHER_TEST_STEP_MS   how long the `work` step takes (default 3000);
//   TETHER_TEST_LEDGER    a file to which each step start and end is appended as
//                         "start <instance> <run>" / "end <instance> <run>";
//   OTEL_*                tracing, for the `traced` function (TracingLiveTests).
import Foundation
import Tether
import Tracing

struct Job: Codable, Sendable {
    var n: Int
}

struct Done: Codable, Sendable {
    var n: Int
    var ranOn: String
}

let environment = ProcessInfo.processInfo.environment
let options = WorkerOptions()
let stepMilliseconds = environment["TETHER_TEST_STEP_MS"].flatMap { Int($0) } ?? 3_000
let ledgerPath = environment["TETHER_TEST_LEDGER"]

/// Appends one line to the ledger with O_APPEND, so two processes never interleave within a line.
func record(_ line: String) {
    guard let ledgerPath else { return }
    let descriptor = open(ledgerPath, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard descriptor >= 0 else { return }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

let slowJob = TetherFunction("slow-job", trigger: .event("test/slow")) { (ctx: Context<Job>) -> Done in
    let job = ctx.event.data
    let ranOn = try await ctx.step.run("work") { () async throws -> String in
        record("start \(options.instanceId) \(ctx.runId)")
        try await Task.sleep(for: .milliseconds(stepMilliseconds))
        record("end \(options.instanceId) \(ctx.runId)")
        return options.instanceId
    }
    return Done(n: job.n, ranOn: ranOn)
}

/// Three steps and a sleep; `charge` fails its first attempt (retried 200 ms later), and `reserve`
/// makes a span of its own inside the step.
let traced = TetherFunction("traced", trigger: .event("test/traced")) { (ctx: Context<Job>) -> Done in
    let reserved = try await ctx.step.run("reserve") { () async throws -> Int in
        try await withSpan("reserve-inventory") { span in
            span.attributes["inventory.items"] = 3
            return 3
        }
    }
    try await ctx.step.sleep("cool-off", for: .milliseconds(50))
    let charged = try await ctx.step.run("charge") { () async throws -> Int in
        if ctx.attempt == 1 { throw RetryAfterError("card declined (first attempt)", after: .milliseconds(200)) }
        return reserved * 10
    }
    let shipped = try await ctx.step.run("ship") { charged + 1 }
    return Done(n: shipped, ranOn: options.instanceId)
}

let worker = Worker(app: "crash-test", functions: [slowJob, traced], options: options)
do {
    try await worker.runUntilSignalled()
} catch {
    FileHandle.standardError.write(Data("tether-test-worker: \(error)\n".utf8))
    exit(1)
}
