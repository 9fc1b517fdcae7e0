import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Tether

/// The scenarios about connections rather than runs: `connections` (idle workers held: memory and
/// heartbeat CPU) and `reconnect` (the coordinator killed and restarted under W workers).
extension BenchCommand {
    struct FleetOptions: ParsableArguments {
        @Option(help: "Worker connections (each an SDK worker in this process).")
        var workers: Int = 1_000

        @Option(help: "strict or relaxed (no runs here; it only changes the coordinator's mode).")
        var durability: String = "strict"

        @Option(
            name: .customLong("max-concurrent-handshakes"),
            help: "The coordinator's handshake limit (default: its own, 256).")
        var maxConcurrentHandshakes: Int?

        var coordinatorArguments: [String] {
            maxConcurrentHandshakes.map { ["--max-concurrent-handshakes", String($0)] } ?? []
        }
    }

    /// W idle workers (1 slot each) in one ServiceGroup of this process.
    static func startFleet(
        _ count: Int, coordinator: BenchCoordinator
    ) -> (group: ServiceGroup, task: Task<Void, any Error>) {
        var logger = Logger(label: "tether.bench")
        logger.logLevel = .critical
        let idle = TetherFunction("bench-idle", trigger: .event("bench/idle")) { (_: Context<JSONValue>) -> Int in 0 }
        let workers = (0..<count).map { index -> Worker in
            var options = coordinator.workerOptions(instanceId: "idle-\(index)", slots: 1)
            options.shutdownGracePeriod = .seconds(1)
            return Worker(app: "bench-fleet", functions: [idle], options: options, logger: logger)
        }
        let group = ServiceGroup(configuration: .init(services: workers.map { .init(service: $0) }, logger: logger))
        let task = Task { try await group.run() }
        return (group, task)
    }

    static func fleetResult(
        scenario: String, options: FleetOptions, extra: [String: JSONValue], coordinator: [String: JSONValue]
    ) -> String {
        var parameters: [String: JSONValue] = ["workers": .int(Int64(options.workers)), "slotsPerWorker": 1]
        if let limit = options.maxConcurrentHandshakes { parameters["maxConcurrentHandshakes"] = .int(Int64(limit)) }
        var result: [String: JSONValue] = [
            "scenario": .string(scenario), "parameters": .object(parameters), "durability": .string(options.durability),
            "completedRuns": 0, "completedSteps": 0, "stepsPerSecond": 0, "latencyMs": [:], "errors": 0,
            "coordinator": .object(coordinator),
            "machine": ["cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))],
        ]
        result.merge(extra) { $1 }
        return String(decoding: JSONValue.object(result).serialized(), as: UTF8.self)
    }

    struct Connections: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "W idle workers held: the coordinator's memory and the CPU its heartbeats cost.")

        @OptionGroup var options: FleetOptions

        @Option(help: "Seconds over which the coordinator's CPU is measured once all are connected.")
        var measureSeconds: Int = 30

        func run() async throws {
            guard options.workers >= 1, measureSeconds >= 1 else {
                throw ValidationError("--workers and --measure-seconds must be at least 1")
            }
            let coordinator = try await BenchCoordinator(
                durability: options.durability, extraArguments: options.coordinatorArguments)
            defer { coordinator.stop() }
            let idle = coordinator.stats()
            let fleet = BenchCommand.startFleet(options.workers, coordinator: coordinator)
            let connectSeconds = try await coordinator.waitForWorkers(options.workers, timeout: .seconds(600))
            progress("\(options.workers) workers connected in \(String(format: "%.1f", connectSeconds)) s; measuring \(measureSeconds) s")
            // Let the connect burst settle, then measure a quiet window of heartbeats only.
            try await Task.sleep(for: .seconds(2))
            let before = coordinator.stats()
            let started = BenchRecorder.now()
            try await Task.sleep(for: .seconds(measureSeconds))
            let after = coordinator.stats()
            let window = Double(BenchRecorder.now() - started) / 1e9
            let connected = await coordinator.status()?["workers"]?.arrayValue?.count ?? 0
            let cpu = (after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)
            await fleet.group.triggerGracefulShutdown()
            _ = try? await fleet.task.value
            let rss = after?.rssBytes ?? 0
            let idleRss = idle?.rssBytes ?? 0
            print(
                BenchCommand.fleetResult(
                    scenario: "connections", options: options,
                    extra: [
                        "connectedWorkers": .int(Int64(connected)), "connectSeconds": rounded(connectSeconds),
                        "measuredSeconds": rounded(window),
                    ],
                    coordinator: [
                        "cpuSeconds": rounded(cpu),
                        "heartbeatCpuPercentOfCore": rounded(cpu / window * 100),
                        "rssBytes": .int(Int64(rss)), "rssBytesBeforeWorkers": .int(Int64(idleRss)),
                        "rssBytesPerWorker": .int(Int64((rss - idleRss) / max(1, options.workers))),
                        "peakRssBytes": .int(Int64(after?.peakRSSBytes ?? 0)),
                    ]))
        }
    }

    struct Reconnect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "W workers connected, the coordinator killed (SIGKILL) and restarted: time until all are back.")

        @OptionGroup var options: FleetOptions

        func run() async throws {
            guard options.workers >= 1 else { throw ValidationError("--workers must be at least 1") }
            let coordinator = try await BenchCoordinator(
                durability: options.durability, extraArguments: options.coordinatorArguments)
            defer { coordinator.stop() }
            let fleet = BenchCommand.startFleet(options.workers, coordinator: coordinator)
            let connectSeconds = try await coordinator.waitForWorkers(options.workers, timeout: .seconds(600))
            progress("\(options.workers) workers connected in \(String(format: "%.1f", connectSeconds)) s; killing the coordinator")
            let killedAt = BenchRecorder.now()
            try await coordinator.killAndRestart()
            let upSeconds = Double(BenchRecorder.now() - killedAt) / 1e9
            let before = coordinator.stats()
            let backSeconds = try await coordinator.waitForWorkers(options.workers, timeout: .seconds(600))
            let allBack = Double(BenchRecorder.now() - killedAt) / 1e9
            let after = coordinator.stats()
            let status = await coordinator.status()
            await fleet.group.triggerGracefulShutdown()
            _ = try? await fleet.task.value
            print(
                BenchCommand.fleetResult(
                    scenario: "reconnect", options: options,
                    extra: [
                        "firstConnectSeconds": rounded(connectSeconds),
                        "restartSeconds": rounded(upSeconds),
                        "reconnectSecondsAfterRestart": rounded(backSeconds),
                        "allBackSecondsAfterKill": rounded(allBack),
                        "handshakes": status?["handshakes"] ?? .null,
                    ],
                    coordinator: [
                        "cpuSeconds": rounded((after?.cpuSeconds ?? 0) - (before?.cpuSeconds ?? 0)),
                        "rssBytes": .int(Int64(after?.rssBytes ?? 0)),
                        "peakRssBytes": .int(Int64(after?.peakRSSBytes ?? 0)),
                    ]))
        }
    }
}
