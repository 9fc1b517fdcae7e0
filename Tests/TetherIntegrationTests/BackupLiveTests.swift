import Foundation
import Synchronization
import Testing
import TetherClient
import TetherEngine
import TetherProcess
import TetherStore

@testable import Tether

/// `tether backup` against a real `tether dev` process under load, and a coordinator started
/// on the restored data.
@Suite("Backups live", .serialized)
struct BackupLiveTests {
    /// One `POST /v1/events` of the load: when it was sent, when it was answered, the runs it started.
    struct Sent: Sendable {
        var started: ContinuousClock.Instant
        var answered: ContinuousClock.Instant
        var runIds: [String]
    }

    @Test(
        "tether backup create while runs are in progress, restore into a fresh directory, start a coordinator on it: every run of the backup is there, and the unfinished ones finish"
    )
    func backupUnderLoadRestoresAndResumes() async throws {
        let directory = try TemporaryDirectory("tether-backup-live")
        let data = directory.path + "/data"
        let backups = data + "/backups"
        let original = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: try await freePort(), workerPort: try await freePort(),
            checksInvariants: true,
            logPath: directory.path + "/coordinator-1.log")
        let url = "http://127.0.0.1:\(original.httpPort)"
        let ledger = StepLedger()
        let firstWorker = TestWorker(
            functions: [orderFunction(worker: "a", ledger: ledger, stepDelay: .milliseconds(20))],
            options: try original.workerOptions(instanceId: "a", capacity: 4))
        let client = try original.client()
        #expect(await eventually { (try? await client.functions().count) == 1 })

        // 200 runs of 3 steps of 20 ms on 4 slots: a few seconds of work.
        var sent: [Sent] = []
        for batch in 0..<10 {
            sent.append(try await Self.send(client, orders: (0..<20).map { "o-\(batch * 20 + $0)" }))
        }
        #expect(await eventually { ledger.totalExecutions >= 60 })

        // More events all through the backup, so it is taken while the store is written.
        let stop = StopFlag()
        let sender = Task {
            var more: [Sent] = []
            var next = 200
            while !stop.isSet {
                more.append(try await Self.send(client, orders: (next..<(next + 5)).map { "o-\($0)" }))
                next += 5
                try? await Task.sleep(for: .milliseconds(20))
            }
            return more
        }
        try await Task.sleep(for: .milliseconds(100))
        let backupStarted = ContinuousClock.now
        let created = try await Self.tether(["backup", "create", "--json", "--url", url], in: directory)
        let backupEnded = ContinuousClock.now
        stop.set()
        sent += try await sender.value
        // Runs started after the backup: a restore does not have them.
        sent.append(try await Self.send(client, orders: (0..<5).map { "o-after-\($0)" }))
        #expect(created.status == 0, "\(created.output)")
        let manifest = try #require(try Self.lastJSONLine(of: created.output))
        let id = try #require(manifest["id"]?.stringValue)
        #expect(manifest["keyLayoutVersion"] == .int(Int64(KeyLayout.schemaVersion)))
        #expect(FileManager.default.fileExists(atPath: backups + "/" + id + "/manifest.json"))

        // Listed by the coordinator and in the directory; intact.
        let listed = try await Self.tether(["backup", "list", "--url", url], in: directory)
        #expect(listed.status == 0 && listed.output.contains(id), "\(listed.output)")
        let offline = try await Self.tether(["backup", "list", "--dir", backups, "--json"], in: directory)
        #expect(
            try Self.lastJSONLine(of: offline.output)?["backups"]?[0]?["id"]?.stringValue == id, "\(offline.output)")
        let verified = try await Self.tether(["backup", "verify", id, "--dir", backups], in: directory)
        #expect(verified.status == 0 && verified.output.contains("intact"), "\(verified.output)")

        await firstWorker.shutdown()
        await original.process.stop()

        // Restore into a fresh dev directory; a second restore into it is refused.
        let restoredDirectory = directory.path + "/restored"
        let restored = try await Self.tether(
            ["backup", "restore", id, "--dir", backups, "--dev", restoredDirectory], in: directory)
        #expect(restored.status == 0, "\(restored.output)")
        let again = try await Self.tether(
            ["backup", "restore", id, "--dir", backups, "--dev", restoredDirectory], in: directory)
        #expect(again.status != 0 && again.output.contains("already_exists"), "\(again.output)")

        // The runs the backup holds, read from the restored store itself (read-only).
        var readOnly = RocksDB.Options()
        readOnly.readOnly = true
        let store = try CoordinatorStore(directory: restoredDirectory + "/db", durability: .strict, options: readOnly)
        var inBackup: [String: RunStatus] = [:]
        var cursor: String?
        repeat {
            let page = try store.listRuns(statuses: nil, limit: 1_000, cursor: cursor)
            for run in page.runs { inBackup[run.id] = run.status }
            cursor = page.next
        } while cursor != nil
        store.close()

        let acknowledgedBefore = sent.filter { $0.answered < backupStarted }.flatMap(\.runIds)
        let sentAfter = sent.filter { $0.started > backupEnded }.flatMap(\.runIds)
        #expect(acknowledgedBefore.count >= 200)
        #expect(
            acknowledgedBefore.allSatisfy { inBackup[$0] != nil }, "every run acknowledged before the backup is in it")
        #expect(sentAfter.count >= 5)
        #expect(sentAfter.allSatisfy { inBackup[$0] == nil }, "no run created after the backup is in it")
        let unfinished = inBackup.filter { !$0.value.isTerminal }
        let finished = inBackup.filter { $0.value == .completed }
        #expect(!unfinished.isEmpty, "the backup was taken while runs were in progress")
        print(
            "backup \(id): \(inBackup.count) runs, \(finished.count) completed, \(unfinished.count) unfinished; \(sentAfter.count) runs after it"
        )

        // A coordinator on the restored data: every run of the backup, and none after it.
        let resumed = try await ChildCoordinator.start(
            dataDirectory: restoredDirectory, httpPort: try await freePort(), workerPort: try await freePort(),
            checksInvariants: true, logPath: directory.path + "/coordinator-2.log")
        let resumedClient = try resumed.client()
        for runId in finished.keys {
            #expect(try await resumedClient.runJSON(runId)["status"]?.stringValue == "completed")
        }
        for runId in sentAfter.prefix(20) {
            let answer = try await resumedClient.request(.GET, "/v1/runs/\(runId)")
            #expect(answer.status == 404)
        }
        // The unfinished ones finish once a worker is attached.
        let secondWorker = TestWorker(
            functions: [orderFunction(worker: "b", ledger: ledger, stepDelay: .milliseconds(5))],
            options: try resumed.workerOptions(instanceId: "b", capacity: 8))
        let done = try await resumedClient.waitForRuns(Array(inBackup.keys), timeout: .seconds(180))
        #expect(done.count == inBackup.count)
        for (runId, run) in done {
            #expect(run["status"]?.stringValue == "completed", "\(runId)")
            let orderId = run["output"]?["orderId"]?.stringValue ?? ""
            #expect(run["output"]?["charge"]?.stringValue == "ch-\(orderId)-1", "\(runId)")
        }
        #expect(resumed.brokeNoInvariant && original.brokeNoInvariant)
        await secondWorker.shutdown()
        await resumed.process.stop()
    }

    /// Tells the load to stop (without cancelling a request under way).
    final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .acquiring) }
        func set() { flag.store(true, ordering: .releasing) }
    }

    /// Sends one order event per id (amount 1) and returns the runs they started.
    static func send(_ client: TetherClient, orders: [String]) async throws -> Sent {
        let started = ContinuousClock.now
        let events = orders.map {
            Components.Schemas.EventInput(data: ["orderId": .string($0), "amount": 1], name: "order/created")
        }
        let receipts = try await client.send(events)
        return Sent(started: started, answered: ContinuousClock.now, runIds: receipts.flatMap(\.runs))
    }

    /// Runs `tether` with `arguments` and returns its exit status and output.
    static func tether(_ arguments: [String], in directory: TemporaryDirectory) async throws -> (
        status: Int32, output: String
    ) {
        let process = try ChildProcess(
            "tether", arguments: arguments, logPath: directory.path + "/cli-\(UUID().uuidString).log")
        _ = await eventually(timeout: .seconds(120)) { !process.isRunning }
        process.process.waitUntilExit()
        return (process.process.terminationStatus, process.log)
    }

    /// The last line of `output` that is a JSON object.
    static func lastJSONLine(of output: String) throws -> JSONValue? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else { return nil }
        return try JSONValue(parsing: Array(line.utf8))
    }
}
