import ArgumentParser
import Foundation
import Tether

/// The coordinator under test: `tether dev` (this same executable) as a child process on a
/// temporary data directory, so its CPU and memory are measured alone, and so it can be killed
/// and restarted like a crash.
final class BenchCoordinator: @unchecked Sendable {
    let directory: String
    let httpPort: Int
    let workerPort: Int
    let durability: String
    let extraArguments: [String]
    let client: TetherClient
    private(set) var process: Process

    /// Starts the coordinator and waits for `/healthz`.
    init(durability: String, extraArguments: [String] = []) async throws {
        guard ["strict", "relaxed"].contains(durability) else {
            throw ValidationError("--durability must be strict or relaxed")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-bench-\(UUID().uuidString)").path
        httpPort = try await freePort()
        workerPort = try await freePort()
        self.durability = durability
        self.extraArguments = extraArguments
        client = try TetherClient(url: "http://127.0.0.1:\(httpPort)")
        process = Process()
        process = try await start()
    }

    private func start() async throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments =
            [
                "dev", "--data", directory, "--http-port", String(httpPort), "--worker-port", String(workerPort),
                "--durability", durability,
            ] + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["TETHER_LOG_LEVEL"] = "error"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let client = self.client
        try await waitUntil("the coordinator to start") {
            guard process.isRunning else { throw CLIError("the coordinator exited with status \(process.terminationStatus)") }
            return (try? await client.request(.GET, "/healthz").status) == 200
        }
        return process
    }

    var pid: Int32 { process.processIdentifier }

    /// CPU seconds and memory of the coordinator process now.
    func stats() -> ProcessStats? { ProcessStats.read(pid: pid) }

    /// SIGKILL, then start again on the same data directory and ports.
    func killAndRestart() async throws {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        process = try await start()
    }

    /// Worker options for this coordinator (its dev signing key and CA).
    func workerOptions(instanceId: String, slots: Int) throws -> WorkerOptions {
        var options = WorkerOptions(environment: [:])
        options.coordinator = "127.0.0.1:\(workerPort)"
        options.signingKey = try String(contentsOfFile: directory + "/signing-key", encoding: .utf8)
        options.caFile = directory + "/tls/ca.pem"
        options.instanceId = instanceId
        options.maxConcurrency = slots
        return options
    }

    /// The `/v1/status` document.
    func status() async -> JSONValue? {
        try? await client.request(.GET, "/v1/status").json
    }

    /// Waits until `count` workers are registered; returns the seconds it took.
    func waitForWorkers(_ count: Int, timeout: Duration = .seconds(120)) async throws -> Double {
        let started = BenchRecorder.now()
        try await waitUntil("\(count) workers to connect", timeout: timeout, every: .milliseconds(100)) {
            await self.status()?["workers"]?.arrayValue?.count == count
        }
        return Double(BenchRecorder.now() - started) / 1e9
    }

    /// SIGTERM, wait, and remove the data directory.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Progress on standard error.
func progress(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A number rounded to 3 decimals, as JSON.
func rounded(_ value: Double) -> JSONValue {
    .double((value * 1_000).rounded() / 1_000)
}
