import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Tether
import TetherClient

extension BenchCommand {
    /// `tether bench soak`: many runs through one coordinator with a short retention, to show
    /// that memory and disk level off, then a restart timed to ready.
    struct Soak: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "N runs with a short retention: RSS, disk and run rate per interval, then a restart timed to ready.")

        @Option(help: "Runs to complete.")
        var runs: Int = 1_000_000

        @Option(help: "The coordinator's --retention (30s, 1m, 12h, 7d).")
        var retention: String = "1m"

        @Option(name: .customLong("report-every"), help: "Runs between two samples.")
        var reportEvery: Int = 100_000

        @Option(help: "Most runs sent and not yet finished at any time.")
        var window: Int = 4_000

        @OptionGroup var options: Options

        func run() async throws {
            guard runs >= 1, reportEvery >= 1, window >= 500 else {
                throw ValidationError("--runs and --report-every must be at least 1, --window at least 500")
            }
            guard options.workers >= 1, options.slots >= 1, options.steps >= 1 else {
                throw ValidationError("--workers, --slots and --steps must be at least 1")
            }
            print(try await BenchSoakRun(command: self).run())
        }
    }
}

/// One soak: the coordinator as a child process, in-process workers, events sent in a closed
/// window, a sample every `reportEvery` runs.
struct BenchSoakRun {
    let command: BenchCommand.Soak

    func run() async throws -> String {
        let options = command.options
        let coordinator = try await BenchCoordinator(
            durability: options.durability, extraArguments: ["--retention", command.retention])
        defer { coordinator.stop() }
        let harness = BenchHarness(client: coordinator.client)
        let payload = String(repeating: "x", count: max(0, options.payloadBytes))
        let function = BenchHarness.function(recorder: harness.recorder, steps: options.steps, parallel: 1, payload: payload)
        return try await BenchHarness.withWorkers(of: function, options: options, coordinator: coordinator) { stopWorkers in
            let samples = try await drive(harness: harness, coordinator: coordinator)
            try await waitUntil("the last runs to be stored", timeout: .seconds(600)) {
                await coordinator.status()?["coordinator"]?["activeRuns"]?.int64Value == 0
            }
            await stopWorkers()
            let restarted = BenchRecorder.now()
            try await coordinator.killAndRestart()
            let restartSeconds = Double(BenchRecorder.now() - restarted) / 1e9
            return String(decoding: report(samples: samples, restartSeconds: restartSeconds, coordinator: coordinator).serialized(), as: UTF8.self)
        }
    }

    /// One sample: after `runs` finished runs.
    struct Sample {
        var runs: Int
        var elapsedSeconds: Double
        var runsPerSecond: Double
        var rssBytes: Int
        var diskBytes: Int64
    }

    /// Sends the runs, at most `window` unfinished at a time; samples every `reportEvery`.
    private func drive(harness: BenchHarness, coordinator: BenchCoordinator) async throws -> [Sample] {
        let runs = command.runs
        let started = BenchRecorder.now()
        var samples: [Sample] = []
        var lastSample = (runs: 0, at: started)
        var sent = 0
        while true {
            let finished = harness.recorder.finished
            if finished >= lastSample.runs + command.reportEvery || (finished >= runs && lastSample.runs < runs) {
                let now = BenchRecorder.now()
                let stats = coordinator.stats()
                let sample = Sample(
                    runs: finished, elapsedSeconds: Double(now - started) / 1e9,
                    runsPerSecond: Double(finished - lastSample.runs) / (Double(now - lastSample.at) / 1e9),
                    rssBytes: stats?.rssBytes ?? 0, diskBytes: Self.diskBytes(of: coordinator.directory + "/db"))
                samples.append(sample)
                lastSample = (finished, now)
                progress(
                    "[\(Int(sample.elapsedSeconds))s] \(finished) runs, \(Int(sample.runsPerSecond)) runs/s, "
                        + "RSS \(sample.rssBytes / 1_048_576) MiB, disk \(sample.diskBytes / 1_048_576) MiB")
            }
            if finished >= runs { break }
            if sent < runs && sent - finished < command.window - 500 {
                let batch = min(500, runs - sent)
                try await harness.send(range: sent..<(sent + batch))
                sent += batch
            } else {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        return samples
    }

    private func report(samples: [Sample], restartSeconds: Double, coordinator: BenchCoordinator) -> JSONValue {
        // RSS after warm-up: the first sample at or past 200,000 runs (or the first) is the base.
        let base = samples.first(where: { $0.runs >= 200_000 }) ?? samples.first
        let later = samples.filter { $0.runs >= (base?.runs ?? 0) }
        let maxRSS = later.map(\.rssBytes).max() ?? 0
        let minRSS = later.map(\.rssBytes).min() ?? 0
        let options = command.options
        return [
            "scenario": "soak",
            "parameters": [
                "runs": .int(Int64(command.runs)), "retention": .string(command.retention),
                "stepsPerRun": .int(Int64(options.steps)), "workers": .int(Int64(options.workers)),
                "slotsPerWorker": .int(Int64(options.slots)), "payloadBytes": .int(Int64(options.payloadBytes)),
                "window": .int(Int64(command.window)),
            ],
            "durability": .string(options.durability),
            "completedRuns": .int(Int64(samples.last?.runs ?? 0)),
            "samples": .array(
                samples.map { sample in
                    [
                        "runs": .int(Int64(sample.runs)), "elapsedSeconds": rounded(sample.elapsedSeconds),
                        "runsPerSecond": .double(sample.runsPerSecond.rounded()), "rssBytes": .int(Int64(sample.rssBytes)),
                        "diskBytes": .int(sample.diskBytes),
                    ]
                }),
            "rssAfterWarmup": [
                "fromRuns": .int(Int64(base?.runs ?? 0)), "minBytes": .int(Int64(minRSS)), "maxBytes": .int(Int64(maxRSS)),
                "spread": rounded(minRSS > 0 ? Double(maxRSS - minRSS) / Double(minRSS) : 0),
            ],
            "maxDiskBytes": .int(samples.map(\.diskBytes).max() ?? 0),
            "restartToReadySeconds": rounded(restartSeconds),
            "machine": ["cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))],
        ]
    }

    /// Bytes of the regular files under `path`.
    static func diskBytes(of path: String) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let name = enumerator.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
            if (attributes?[.type] as? FileAttributeType) == .typeRegular, let size = attributes?[.size] as? NSNumber {
                total += size.int64Value
            }
        }
        return total
    }
}
