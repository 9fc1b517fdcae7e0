import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Tether

/// The moving parts of one benchmark: the child coordinator, the workers, the recorder.
final class BenchHarness: Sendable {
    let recorder = BenchRecorder()
    let client: TetherClient

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

    struct Key: Codable, Sendable { var key: String }

    static func function(recorder: BenchRecorder, steps: Int, payload: String) -> TetherFunction {
        TetherFunction("bench", trigger: .event("bench/run")) { (ctx: Context<Key>) -> Int in
            let key = ctx.event.data.key
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

    static func run(
        scenario: String, options: BenchCommand.Options, runs: Int,
        drive: @Sendable @escaping (BenchHarness) async throws -> Void
    ) async throws -> String {
        guard ["strict", "relaxed"].contains(options.durability) else {
            throw ValidationError("--durability must be strict or relaxed")
        }
        guard options.workers >= 1, options.slots >= 1, options.steps >= 1, runs >= 1 else {
            throw ValidationError("--workers, --slots, --steps and --runs must be at least 1")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        let coordinator = Process()
        coordinator.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        coordinator.arguments = [
            "dev", "--data", directory, "--http-port", String(httpPort), "--worker-port", String(workerPort),
            "--durability", options.durability,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["TETHER_LOG_LEVEL"] = "error"
        coordinator.environment = environment
        coordinator.standardOutput = FileHandle.nullDevice
        try coordinator.run()
        defer {
            if coordinator.isRunning {
                kill(coordinator.processIdentifier, SIGTERM)
                coordinator.waitUntilExit()
            }
        }
        let client = try TetherClient(url: "http://127.0.0.1:\(httpPort)")
        try await waitUntil("the coordinator to start") { (try? await client.request(.GET, "/healthz").status) == 200 }

        let harness = BenchHarness(client: client)
        let payload = String(repeating: "x", count: max(0, options.payloadBytes))
        let function = Self.function(recorder: harness.recorder, steps: options.steps, payload: payload)
        var logger = Logger(label: "tether.bench")
        logger.logLevel = .error
        let key = try String(contentsOfFile: directory + "/signing-key", encoding: .utf8)
        let workers = (0..<options.workers).map { index -> Worker in
            var workerOptions = WorkerOptions(environment: [:])
            workerOptions.coordinator = "127.0.0.1:\(workerPort)"
            workerOptions.signingKey = key
            workerOptions.caFile = directory + "/tls/ca.pem"
            workerOptions.instanceId = "bench-\(index)"
            workerOptions.maxConcurrency = options.slots
            return Worker(app: "bench", functions: [function], options: workerOptions, logger: logger)
        }
        let group = ServiceGroup(configuration: .init(services: workers.map { .init(service: $0) }, logger: logger))
        return try await withThrowingTaskGroup(of: String?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                try await waitUntil("the workers to connect") {
                    let status = try? await client.request(.GET, "/v1/status").json
                    return status?["workers"]?.arrayValue?.count == options.workers
                }
                let pid = coordinator.processIdentifier
                let before = ProcessStats.read(pid: pid)
                let started = BenchRecorder.now()
                let progress = Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(2))
                        let seconds = Double(BenchRecorder.now() - started) / 1e9
                        FileHandle.standardError.write(
                            Data("[\(String(format: "%.0f", seconds))s] \(harness.recorder.finished)/\(runs) runs, \(harness.recorder.steps) steps\n".utf8))
                    }
                }
                try await drive(harness)
                // The last results are durable once the coordinator has no active run left.
                try await waitUntil("the last runs to be stored") {
                    let status = try? await client.request(.GET, "/v1/status").json
                    return status?["coordinator"]?["activeRuns"]?.int64Value == 0
                }
                let elapsed = Double(BenchRecorder.now() - started) / 1e9
                progress.cancel()
                let after = ProcessStats.read(pid: pid)
                await group.triggerGracefulShutdown()
                let latencies = harness.recorder.latencies
                let steps = harness.recorder.steps
                let result: JSONValue = [
                    "scenario": .string(scenario),
                    "parameters": [
                        "runs": .int(Int64(runs)), "stepsPerRun": .int(Int64(options.steps)),
                        "workers": .int(Int64(options.workers)), "slotsPerWorker": .int(Int64(options.slots)),
                        "payloadBytes": .int(Int64(options.payloadBytes)),
                    ],
                    "durability": .string(options.durability),
                    "completedRuns": .int(Int64(harness.recorder.finished)),
                    "completedSteps": .int(Int64(steps)),
                    "elapsedSeconds": .double((elapsed * 1_000).rounded() / 1_000),
                    "stepsPerSecond": .double((Double(steps) / elapsed).rounded()),
                    "latencyMs": [
                        "eventToFirstStep": .object(percentiles(latencies.eventToFirstStep).mapValues(JSONValue.double)),
                        "stepToStep": .object(percentiles(latencies.stepToStep).mapValues(JSONValue.double)),
                    ],
                    "errors": .int(0),
                    "coordinator": [
                        "cpuSeconds": .double((((after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)) * 1_000).rounded() / 1_000),
                        "peakRssBytes": .int(Int64(after?.peakRSSBytes ?? 0)),
                    ],
                    "machine": ["cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))],
                ]
                return String(decoding: result.serialized(), as: UTF8.self)
            }
            var output = ""
            for try await value in tasks {
                if let value { output = value }
            }
            return output
        }
    }
}

/// Polls `condition` every 20 ms, failing after two minutes.
func waitUntil(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(120))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw CLIError("timed out waiting for \(what)")
}

/// A TCP port that was free a moment ago.
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}
