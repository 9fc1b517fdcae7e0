import ArgumentParser
import Foundation
import TetherProcess
import Tether
import TetherClient
import TetherCluster
import Logging
import TetherCoordinator

/// The coordinator under test: `tether dev` (this same executable) as a child process on a
/// temporary data directory, so its CPU and memory are measured alone, and so it can be killed
/// and restarted like a crash.
final class BenchCoordinator: @unchecked Sendable {  // `process` changes only in killAndRestart, on one task
    let directory: String
    let httpPort: Int
    let workerPort: Int
    let durability: String
    let extraArguments: [String]
    /// Variables the coordinator gets besides this process's (`OTEL_*` for `--tracing`).
    let extraEnvironment: [String: String]
    let client: TetherClient
    /// The dev signing key `tether dev` wrote on its first start (it keeps it across restarts).
    let signingKey: String
    private(set) var process: SpawnedProcess

    /// Starts the coordinator and waits for `/healthz`.
    init(durability: String, extraArguments: [String] = [], extraEnvironment: [String: String] = [:]) async throws {
        guard ["strict", "relaxed"].contains(durability) else {
            throw ValidationError("--durability must be strict or relaxed")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-bench-\(UUID().uuidString)").path
        httpPort = try await freePort()
        workerPort = try await freePort()
        self.durability = durability
        self.extraArguments = extraArguments
        self.extraEnvironment = extraEnvironment
        client = try TetherClient(url: "http://127.0.0.1:\(httpPort)")
        process = try Self.spawn(
            directory: directory, httpPort: httpPort, workerPort: workerPort, durability: durability,
            extraArguments: extraArguments, extraEnvironment: extraEnvironment)
        try await Self.waitUntilUp(process, client: client)
        signingKey = try String(contentsOfFile: directory + "/signing-key", encoding: .utf8)
    }

    /// `tether dev` on this coordinator's directory and ports; posix_spawn rather than Foundation's
    /// Process, which crashed when thousands of worker sockets opened and closed around it.
    private static func spawn(
        directory: String, httpPort: Int, workerPort: Int, durability: String, extraArguments: [String],
        extraEnvironment: [String: String] = [:]
    ) throws -> SpawnedProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["TETHER_LOG_LEVEL"] = "error"
        environment.merge(extraEnvironment) { $1 }
        return try SpawnedProcess(
            executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
            arguments: [
                "dev", "--data", directory, "--http-port", String(httpPort), "--worker-port", String(workerPort),
                "--durability", durability,
            ] + extraArguments,
            environment: environment, outputPath: nil)
    }

    private static func waitUntilUp(_ process: SpawnedProcess, client: TetherClient) async throws {
        try await waitUntil("the coordinator to start") {
            guard process.isRunning else { throw BenchError("the coordinator exited with status \(process.terminationStatus)") }
            // Ready, not only alive: a cluster node answers /healthz while it stands by.
            return (try? await client.request(.GET, "/readyz").status) == 200
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// Refuses a journal that already holds entries or a lease: the bench's node must start
    /// the journal, not replay another's.
    static func requireEmptyJournal(_ url: String) async throws {
        let parsed: JournalURL
        do {
            parsed = try JournalURL(url)
        } catch {
            throw ValidationError("--journal: \(error.message)")
        }
        var logger = Logger(label: "tether.bench")
        logger.logLevel = .error
        let journal = PostgresJournal(url: parsed, logger: logger)
        defer { Task { await journal.close() } }
        try await journal.prepare()
        let bounds = try await journal.bounds()
        let leader = try await journal.leader()
        guard bounds.last == 0 && leader.epoch == 0 else {
            throw ValidationError("--journal: \(parsed.redacted) already holds a journal (last entry \(bounds.last), epoch \(leader.epoch)); give the bench an empty database")
        }
    }

    /// The journal's counters on this coordinator's `/metrics` (zero without a journal).
    func journalCounters() async -> (appends: Double, bytes: Double) {
        guard let text = try? await client.request(.GET, "/metrics").text else { return (0, 0) }
        var appends = 0.0
        var bytes = 0.0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "tether_journal_appends_total" { appends = value }
            if parts[0] == "tether_journal_written_bytes_total" { bytes = value }
        }
        return (appends, bytes)
    }

    /// CPU seconds and memory of the coordinator process now.
    func stats() -> ProcessStats? { ProcessStats.read(pid: pid) }

    /// SIGKILL, then start again on the same data directory and ports.
    func killAndRestart() async throws {
        process.signal(SIGKILL)
        process.waitUntilExit()
        process = try Self.spawn(
            directory: directory, httpPort: httpPort, workerPort: workerPort, durability: durability,
            extraArguments: extraArguments, extraEnvironment: extraEnvironment)
        try await Self.waitUntilUp(process, client: client)
    }

    /// Worker options for this coordinator (its dev signing key and CA).
    func workerOptions(instanceId: String, slots: Int) -> WorkerOptions {
        var options = WorkerOptions(environment: [:])
        options.coordinator = "127.0.0.1:\(workerPort)"
        options.signingKey = signingKey
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
            process.signal(SIGTERM)
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
