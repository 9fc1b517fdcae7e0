import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Tether
import TetherClient

/// The moving parts of one benchmark: the child coordinator, the workers, the recorder.
final class BenchHarness: Sendable {
    let recorder = BenchRecorder()
    let client: TetherClient
    private let failedSends = Mutex(0)

    /// Events whose send failed (open scenario: the coordinator refused them or the request failed).
    var errors: Int { failedSends.withLock { $0 } }

    func countError(_ events: Int) { failedSends.withLock { $0 += events } }

    init(client: TetherClient) {
        self.client = client
    }

    /// Sends the events of runs `range` in one request.
    func send(range: Range<Int>) async throws {
        let events: [JSONValue] = range.map { ["name": "bench/run", "data": ["key": .string("r-\($0)")]] }
        let now = BenchRecorder.now()
        for i in range { recorder.sent("r-\(i)", at: now) }
        let response = try await client.request(.POST, "/v1/events", body: JSONValue.array(events).serialized())
        try response.throwIfError()
    }

    /// Sends the events of `runs` runs at once (requests of 500), then waits until all finished.
    func sendAllAndWait(_ runs: Int) async throws {
        var sent = 0
        while sent < runs {
            let batch = min(500, runs - sent)
            try await send(range: sent..<(sent + batch))
            sent += batch
        }
        await recorder.waitForFinished(runs)
    }

    struct Key: Codable, Sendable { var key: String }

    /// The benchmark function: `steps` sequential steps, or with `parallel` > 1, one round of
    /// `parallel` steps started together (reported in one result, dispatched concurrently).
    static func function(recorder: BenchRecorder, steps: Int, parallel: Int, payload: String) -> TetherFunction {
        TetherFunction("bench", trigger: .event("bench/run")) { (ctx: Context<Key>) -> Int in
            let key = ctx.event.data.key
            if parallel > 1 {
                try await withThrowingTaskGroup(of: String.self) { group in
                    for index in 0..<parallel {
                        group.addTask {
                            try await ctx.step.run("p\(index)") { () -> String in
                                recorder.parallelStepRan(key, of: parallel)
                                return payload
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                return parallel
            }
            for index in 0..<steps {
                _ = try await ctx.step.run("s\(index)") { () -> String in
                    recorder.stepStarted(key, index: index)
                    recorder.stepEnded(key, last: index == steps - 1)
                    return payload
                }
            }
            return steps
        }
    }

    /// Runs a run-driving scenario: starts the coordinator and `options.workers` workers, calls
    /// `drive`, waits until the coordinator has no active run, and returns the JSON.
    static func run(
        scenario: String, options: BenchCommand.Options, runs: Int, parallel: Int = 1,
        extraParameters: [String: JSONValue] = [:],
        drive: @Sendable @escaping (BenchHarness) async throws -> Void
    ) async throws -> String {
        guard options.workers >= 1, options.slots >= 1, options.steps >= 1, runs >= 1, parallel >= 1 else {
            throw ValidationError("--workers, --slots, --steps, --runs and --parallel must be at least 1")
        }
        var extraArguments: [String] = []
        if let journal = options.journal {
            try await BenchCoordinator.requireEmptyJournal(journal)
            extraArguments = ["--journal", journal, "--node-id", "bench"]
        }
        // --tracing: the coordinator and this process's workers export every span to the sink.
        let sink = options.tracing ? try await SpanSink.start() : nil
        var tracingEnvironment: [String: String] = [:]
        if let sink {
            tracingEnvironment = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(sink.port)"]
            for (name, value) in tracingEnvironment { setenv(name, value, 1) }
        }
        let coordinator = try await BenchCoordinator(
            durability: options.durability, extraArguments: extraArguments, extraEnvironment: tracingEnvironment)
        defer { coordinator.stop() }
        let client = coordinator.client
        let harness = BenchHarness(client: client)
        let payload = String(repeating: "x", count: max(0, options.payloadBytes))
        let function = Self.function(recorder: harness.recorder, steps: options.steps, parallel: parallel, payload: payload)
        return try await withWorkers(of: function, options: options, coordinator: coordinator) { stopWorkers in
            let before = coordinator.stats()
            let journalBefore = await coordinator.journalCounters()
            let started = BenchRecorder.now()
            let ticker = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(2))
                    let seconds = Double(BenchRecorder.now() - started) / 1e9
                    progress("[\(String(format: "%.0f", seconds))s] \(harness.recorder.finished)/\(runs) runs, \(harness.recorder.steps) steps")
                }
            }
            try await drive(harness)
            // The last results are durable once the coordinator has no active run left.
            try await waitUntil("the last runs to be stored", timeout: .seconds(600)) {
                await coordinator.status()?["coordinator"]?["activeRuns"]?.int64Value == 0
            }
            let elapsed = Double(BenchRecorder.now() - started) / 1e9
            ticker.cancel()
            let after = coordinator.stats()
            let journalAfter = await coordinator.journalCounters()
            await stopWorkers()
            let latencies = harness.recorder.latencies
            let steps = harness.recorder.steps
            var parameters: [String: JSONValue] = [
                "runs": .int(Int64(runs)), "stepsPerRun": .int(Int64(parallel > 1 ? parallel : options.steps)),
                "workers": .int(Int64(options.workers)), "slotsPerWorker": .int(Int64(options.slots)),
                "payloadBytes": .int(Int64(options.payloadBytes)),
            ]
            if parallel > 1 { parameters["parallelSteps"] = .int(Int64(parallel)) }
            if options.tracing { parameters["tracing"] = true }
            parameters.merge(extraParameters) { $1 }
            var result: JSONValue = [
                "scenario": .string(scenario),
                "parameters": .object(parameters),
                "durability": .string(options.durability),
                "completedRuns": .int(Int64(harness.recorder.finished)),
                "completedSteps": .int(Int64(steps)),
                "elapsedSeconds": rounded(elapsed),
                "stepsPerSecond": .double((Double(steps) / elapsed).rounded()),
                "latencyMs": [
                    "eventToFirstStep": .object(percentiles(latencies.eventToFirstStep).mapValues(JSONValue.double)),
                    "stepToStep": .object(percentiles(latencies.stepToStep).mapValues(JSONValue.double)),
                ],
                "errors": .int(Int64(harness.errors)),
                "coordinator": [
                    "cpuSeconds": rounded((after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)),
                    "peakRssBytes": .int(Int64(after?.peakRSSBytes ?? 0)),
                ],
                "machine": ["cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))],
            ]
            if options.journal != nil, case .object(var fields) = result {
                // What went to PostgreSQL: group commits (appends) and their bytes.
                let appends = journalAfter.appends - journalBefore.appends
                let bytes = journalAfter.bytes - journalBefore.bytes
                fields["journal"] = [
                    "appends": .int(Int64(appends)),
                    "appendsPerSecond": .double((appends / elapsed).rounded()),
                    "bytesPerStep": rounded(steps > 0 ? bytes / Double(steps) : 0),
                    "stepsPerAppend": rounded(appends > 0 ? Double(steps) / appends : 0),
                ]
                result = .object(fields)
            }
            if let sink, case .object(var fields) = result {
                // What the exporters sent (spans are batched: every 5 s, or 512 at a time).
                fields["tracing"] = ["exportRequests": .int(Int64(sink.requests)), "exportedBytes": .int(Int64(sink.bytes))]
                result = .object(fields)
                await sink.stop()
            }
            return String(decoding: result.serialized(), as: UTF8.self)
        }
    }

    /// Runs `options.workers` bench workers of `function` (`options.slots` slots each) against
    /// `coordinator` beside `body`, which starts once all are registered and may stop them
    /// early with the closure it is given; they stop when it returns.
    static func withWorkers<T: Sendable>(
        of function: TetherFunction, options: BenchCommand.Options, coordinator: BenchCoordinator,
        _ body: @Sendable @escaping (_ stopWorkers: @Sendable () async -> Void) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "tether.bench")
        logger.logLevel = .error
        let workers = (0..<options.workers).map { index -> Worker in
            let workerOptions = coordinator.workerOptions(instanceId: "bench-\(index)", slots: options.slots)
            return Worker(app: "bench", functions: [function], options: workerOptions, logger: logger)
        }
        let group = ServiceGroup(configuration: .init(services: workers.map { .init(service: $0) }, logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                _ = try await coordinator.waitForWorkers(options.workers)
                let value = try await body { await group.triggerGracefulShutdown() }
                await group.triggerGracefulShutdown()
                return value
            }
            var output: T?
            for try await value in tasks {
                if let value { output = value }
            }
            guard let output else { throw BenchError("the bench ended without a result") }
            return output
        }
    }
}

/// Polls `condition` every `interval` (20 ms), failing after `timeout` (two minutes).
func waitUntil(
    _ what: String, timeout: Duration = .seconds(120), every interval: Duration = .milliseconds(20),
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    throw BenchError("timed out waiting for \(what)")
}
