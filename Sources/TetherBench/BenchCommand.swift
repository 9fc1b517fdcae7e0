import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Tether

/// `tether bench`: the load generator. Starts a `tether dev` coordinator as a child process
/// (so its CPU and memory are measured alone), connects in-process workers over TLS, drives
/// a scenario and prints one JSON object.
package struct BenchCommand: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency; prints one JSON object (progress on stderr).",
        subcommands: [Chain.self, Fanout.self, Latency.self, Open.self, Soak.self, Connections.self, Reconnect.self])

    struct Options: ParsableArguments {
        @Option(help: "Worker connections.")
        var workers: Int = 4

        @Option(help: "Slots (advertised capacity) per worker.")
        var slots: Int = 32

        @Option(help: "Sequential steps per run.")
        var steps: Int = 3

        @Option(help: "Bytes of each step's output.")
        var payloadBytes: Int = 16

        @Option(help: "strict (fsync'd group commit) or relaxed.")
        var durability: String = "strict"

        @Option(help: "Cluster mode: an empty PostgreSQL database as the journal every commit goes to first.")
        var journal: String?

        @Flag(help: "Trace every run (OpenTelemetry over OTLP/HTTP, coordinator and workers) into a sink in the bench process.")
        var tracing = false
    }

    struct Chain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "N runs of S sequential steps, all sent at once: throughput.")

        @Option(help: "Runs to complete.")
        var runs: Int = 2_000

        @OptionGroup var options: Options

        func run() async throws {
            let result = try await BenchHarness.run(scenario: "chain", options: options, runs: runs) { harness in
                try await harness.sendAllAndWait(runs)
            }
            print(result)
        }
    }

    struct Latency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One run at a time (closed loop): event→first step and step→step latency.")

        @Option(help: "Runs, one after the other.")
        var runs: Int = 200

        @OptionGroup var options: Options

        func run() async throws {
            let result = try await BenchHarness.run(scenario: "latency", options: options, runs: runs) { harness in
                for i in 0..<runs {
                    try await harness.send(range: i..<(i + 1))
                    await harness.recorder.waitForFinished(i + 1)
                }
            }
            print(result)
        }
    }

    struct Fanout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "N runs of P parallel steps each, all sent at once: parallel dispatch throughput.")

        @Option(help: "Runs to complete.")
        var runs: Int = 1_000

        @Option(help: "Parallel steps per run.")
        var parallel: Int = 10

        @OptionGroup var options: Options

        func run() async throws {
            let runs = self.runs
            let result = try await BenchHarness.run(
                scenario: "fanout", options: options, runs: runs, parallel: max(2, parallel)
            ) { harness in
                try await harness.sendAllAndWait(runs)
            }
            print(result)
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Events at a fixed arrival rate for a duration (open loop): latency under a given load.")

        @Option(help: "Events (runs) per second.")
        var rate: Int = 500

        @Option(help: "Seconds of arrivals.")
        var duration: Int = 10

        @OptionGroup var options: Options

        func run() async throws {
            guard rate >= 1, duration >= 1 else { throw ValidationError("--rate and --duration must be at least 1") }
            let rate = self.rate
            let runs = rate * duration
            let result = try await BenchHarness.run(
                scenario: "open", options: options, runs: runs,
                extraParameters: ["ratePerSecond": .int(Int64(rate)), "durationSeconds": .int(Int64(duration))]
            ) { harness in
                // Every 10 ms, send the events due by now; a slow send is caught up by the next one,
                // so the arrival rate holds on average whatever the coordinator does.
                let started = BenchRecorder.now()
                var sent = 0
                while sent < runs {
                    let elapsed = Double(BenchRecorder.now() - started) / 1e9
                    let due = min(runs, Int(elapsed * Double(rate)))
                    if due > sent {
                        do {
                            try await harness.send(range: sent..<due)
                        } catch {
                            harness.countError(due - sent)
                        }
                        sent = due
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
                await harness.recorder.waitForFinished(runs - harness.errors)
            }
            print(result)
        }
    }
}

/// A bench that could not run (the coordinator did not start, a wait timed out): printed as
/// `Error: …`, exit status 1.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
