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
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency; prints one JSON object (progress on stderr).",
        subcommands: [Chain.self, Latency.self])

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
    }

    struct Chain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "N runs of S sequential steps, all sent at once: throughput.")

        @Option(help: "Runs to complete.")
        var runs: Int = 2_000

        @OptionGroup var options: Options

        func run() async throws {
            let result = try await BenchHarness.run(scenario: "chain", options: options, runs: runs) { harness in
                var sent = 0
                while sent < runs {
                    let batch = min(500, runs - sent)
                    try await harness.send(range: sent..<(sent + batch))
                    sent += batch
                }
                await harness.recorder.waitForFinished(runs)
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
}
