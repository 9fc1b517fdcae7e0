import Foundation
import Testing
import TetherEngine

@testable import Tether

/// Worker processes (`TetherTestWorker`) killed or frozen mid-step: the step completes on another
/// worker and no attempt is consumed (docs/protocol.md, "Leases").
@Suite("Worker crashes", .serialized)
struct WorkerCrashTests {
    /// A `TetherTestWorker` child process connected to `coordinator`.
    static func startWorker(
        _ instance: String, coordinator: TestCoordinator, ledger: String, stepMilliseconds: Int, directory: String
    ) throws -> ChildProcess {
        try ChildProcess(
            "TetherTestWorker", arguments: [],
            environment: [
                "TETHER_COORDINATOR": coordinator.workerAddress, "TETHER_SIGNING_KEY": coordinator.credentials.key.text,
                "TETHER_CA_FILE": coordinator.credentials.tls.caCertificatePath, "TETHER_INSTANCE_ID": instance,
                "TETHER_MAX_CONCURRENCY": "1", "TETHER_TEST_STEP_MS": String(stepMilliseconds),
                "TETHER_TEST_LEDGER": ledger, "TETHER_LOG_LEVEL": "info",
            ],
            logPath: "\(directory)/\(instance).log")
    }

    /// Ledger lines as (kind, instance, run).
    static func ledgerLines(_ path: String) -> [(kind: String, instance: String, run: String)] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ").map(String.init)
            return parts.count == 3 ? (parts[0], parts[1], parts[2]) : nil
        }
    }

    /// Starts two workers and one run, and returns the worker running its step and the other one.
    static func runOnOneOfTwo(
        coordinator: TestCoordinator, directory: String, ledger: String
    ) async throws -> (runId: String, busy: String, workers: [String: ChildProcess]) {
        var workers: [String: ChildProcess] = [:]
        for instance in ["worker-a", "worker-b"] {
            workers[instance] = try startWorker(
                instance, coordinator: coordinator, ledger: ledger, stepMilliseconds: 2_000, directory: directory)
        }
        let client = try coordinator.client()
        let connected = try await eventually {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 2
        }
        guard connected else {
            throw TestFailure("workers did not connect:\n\(workers.values.map(\.log).joined(separator: "\n"))")
        }
        let (_, runIds) = try await client.send("test/slow", data: ["n": 7])
        let runId = try #require(runIds.first)
        _ = await eventually { ledgerLines(ledger).contains { $0.kind == "start" && $0.run == runId } }
        let busy = try #require(ledgerLines(ledger).first { $0.kind == "start" && $0.run == runId }?.instance)
        return (runId, busy, workers)
    }

    @Test("SIGKILL of the worker running a step: it completes on the other worker, attempts stays 1")
    func killedWorker() async throws {
        let directory = try TemporaryDirectory("tether-worker-crash")
        let coordinator = try await TestCoordinator()
        let ledger = directory.path + "/ledger"
        let (runId, busy, workers) = try await Self.runOnOneOfTwo(
            coordinator: coordinator, directory: directory.path, ledger: ledger)
        let killedAt = ContinuousClock.now
        await workers[busy]?.stop(signal: SIGKILL)

        let run = try await coordinator.client().waitForRuns([runId], timeout: .seconds(60))[runId]
        let other = busy == "worker-a" ? "worker-b" : "worker-a"
        #expect(run?["status"]?.stringValue == "completed")
        #expect(run?["output"]?["ranOn"]?.stringValue == other)
        let step = run?["steps"]?.arrayValue?.first { $0["id"]?.stringValue == "work" }
        #expect(step?["attempts"]?.int64Value == 1, "a lost worker costs no attempt")
        let lines = Self.ledgerLines(ledger)
        #expect(lines.filter { $0.kind == "start" }.map(\.instance) == [busy, other])
        #expect(lines.filter { $0.kind == "end" }.map(\.instance) == [other])
        print("SIGKILL of \(busy) mid-step: completed on \(other) \(ContinuousClock.now - killedAt) after the kill (2 s step)")
        for process in workers.values { await process.stop() }
        await coordinator.shutdown()
    }

    @Test("SIGSTOP of the worker running a step: its lease expires after missed heartbeats, the step completes elsewhere, its late result is ignored")
    func frozenWorker() async throws {
        let directory = try TemporaryDirectory("tether-worker-freeze")
        let coordinator = try await TestCoordinator {
            $0.timing.heartbeatIntervalMilliseconds = 400
            $0.timing.leaseDurationMilliseconds = 1_200
        }
        let ledger = directory.path + "/ledger"
        let (runId, busy, workers) = try await Self.runOnOneOfTwo(
            coordinator: coordinator, directory: directory.path, ledger: ledger)
        let frozen = try #require(workers[busy])
        kill(frozen.process.processIdentifier, SIGSTOP)
        let frozenAt = ContinuousClock.now

        let client = try coordinator.client()
        let run = try await client.waitForRuns([runId], timeout: .seconds(60))[runId]
        let elapsed = ContinuousClock.now - frozenAt
        let other = busy == "worker-a" ? "worker-b" : "worker-a"
        #expect(run?["status"]?.stringValue == "completed")
        #expect(run?["output"]?["ranOn"]?.stringValue == other)
        #expect(run?["steps"]?.arrayValue?.first?["attempts"]?.int64Value == 1)

        // Thaw it: its step ends and its result reaches the coordinator late (after it reconnects),
        // and is ignored because the step completed elsewhere.
        kill(frozen.process.processIdentifier, SIGCONT)
        let thawedEnded = await eventually(timeout: .seconds(30)) {
            Self.ledgerLines(ledger).contains { $0.kind == "end" && $0.instance == busy }
        }
        #expect(thawedEnded)
        let reconnected = try await eventually(timeout: .seconds(30)) {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 2
        }
        #expect(reconnected)
        try await Task.sleep(for: .milliseconds(500))
        let after = try await client.runJSON(runId)
        #expect(after["output"]?["ranOn"]?.stringValue == other, "the late result did not replace the output")
        #expect(after["steps"]?.arrayValue?.first?["attempts"]?.int64Value == 1)
        print("SIGSTOP of \(busy) mid-step: completed on \(other) \(elapsed) after the freeze (heartbeat 400 ms, 3 missed = 1.2 s)")
        for process in workers.values { await process.stop() }
        await coordinator.shutdown()
    }

    @Test("SIGSTOP with no other worker: after SIGCONT the frozen execution's late result is accepted; attempts stays 1")
    func lateResultAccepted() async throws {
        let directory = try TemporaryDirectory("tether-worker-late")
        let coordinator = try await TestCoordinator {
            $0.timing.heartbeatIntervalMilliseconds = 400
            $0.timing.leaseDurationMilliseconds = 1_200
        }
        let ledger = directory.path + "/ledger"
        let worker = try Self.startWorker(
            "worker-solo", coordinator: coordinator, ledger: ledger, stepMilliseconds: 1_500, directory: directory.path)
        let client = try coordinator.client()
        _ = try await eventually {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1
        }
        let (_, runIds) = try await client.send("test/slow", data: ["n": 1])
        let runId = try #require(runIds.first)
        _ = await eventually { Self.ledgerLines(ledger).contains { $0.kind == "start" } }
        kill(worker.process.processIdentifier, SIGSTOP)
        // The coordinator declares it dead and requeues the step; nobody can take it.
        let dead = try await eventually(timeout: .seconds(30)) {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 0
        }
        #expect(dead)
        kill(worker.process.processIdentifier, SIGCONT)
        let run = try await client.waitForRuns([runId], timeout: .seconds(60))[runId]
        #expect(run?["status"]?.stringValue == "completed")
        #expect(run?["output"]?["ranOn"]?.stringValue == "worker-solo")
        #expect(run?["steps"]?.arrayValue?.first?["attempts"]?.int64Value == 1)
        let starts = Self.ledgerLines(ledger).filter { $0.kind == "start" }.count
        // The thawed worker reconnects at once and may be sent the requeued step again before its
        // first execution ends: whichever result comes first is used, the other is ignored.
        #expect((1...2).contains(starts))
        print("late result after SIGSTOP/SIGCONT: run completed; the step started \(starts) time(s)")
        await worker.stop()
        await coordinator.shutdown()
    }
}
