import Foundation
import TetherProcess
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Crash and restart", .serialized)
struct CrashRestartTests {
    @Test("SIGKILL of the coordinator mid-run with healthy workers: every run completes and no step body runs twice")
    func killCoordinatorMidRun() async throws {
        let directory = try TemporaryDirectory("tether-crash")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        var coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, checksInvariants: true, logPath: directory.path + "/coordinator-1.log")

        let options = coordinator.workerOptions
        let ledger = StepLedger()
        let workers = [
            TestWorker(functions: [orderFunction(worker: "a", ledger: ledger, stepDelay: .milliseconds(25))], options: try options("a", 3)),
            TestWorker(functions: [orderFunction(worker: "b", ledger: ledger, stepDelay: .milliseconds(25))], options: try options("b", 5)),
        ]
        let client = try coordinator.client()
        _ = try await eventually {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 2
        }

        let events: [JSONValue] = (0..<60).map { i in
            ["name": "order/created", "data": ["orderId": .string("o-\(i)"), "amount": .int(Int64(i + 1))]]
        }
        let response = try await client.request(.POST, "/v1/events", body: JSONValue.array(events).serialized())
        let runIds = (response.json?["events"]?.arrayValue ?? []).flatMap { $0["runs"]?.arrayValue ?? [] }.compactMap(\.stringValue)
        #expect(runIds.count == 60)

        // Kill it with work in flight, about a third of the way through.
        let progressed = await eventually(timeout: .seconds(60)) { ledger.totalExecutions >= 60 }
        #expect(progressed)
        let executedBeforeKill = ledger.executions
        let inFlightAtKill = workers.reduce(into: Set<String>()) { $0.formUnion($1.runsNotYetDurable) }
        await coordinator.process.stop(signal: SIGKILL)
        #expect(!coordinator.process.isRunning)

        coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, checksInvariants: true, logPath: directory.path + "/coordinator-2.log")
        let finished = try await coordinator.client().waitForRuns(runIds)
        #expect(finished.count == 60)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })

        // The workers stayed healthy, so no step body ran twice: steps running at the kill were
        // resumed by their workers, and results held at the kill were applied on reconnect.
        let executions = ledger.executions
        #expect(executions.count == 180, "every step of every run ran")
        for (entry, count) in executions {
            #expect(count == 1, "\(entry) ran \(count) times")
        }
        #expect(ledger.maxRunning["a", default: 0] <= 3)
        #expect(ledger.maxRunning["b", default: 0] <= 5)
        print("executed before kill: \(executedBeforeKill.count) steps; runs in flight at the kill: \(inFlightAtKill.count)")
        for worker in workers { await worker.shutdown() }
        await coordinator.process.stop()
    }

    @Test("SIGKILL 0.3 s into a 1.5 s step, restart at once: the step is resumed, never run twice nor beside another on a 1-slot worker")
    func killDuringLongStep() async throws {
        let directory = try TemporaryDirectory("tether-crash-long")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        var coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, checksInvariants: true, logPath: directory.path + "/coordinator-1.log")
        let ledger = StepLedger()
        let worker = TestWorker(
            functions: [orderFunction(worker: "w", ledger: ledger, stepDelay: .milliseconds(1_500))],
            options: try coordinator.workerOptions(instanceId: "w", capacity: 1))
        let client = try coordinator.client()
        _ = try await eventually { try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1 }
        var runIds: [String] = []
        for i in 0..<2 {
            let response = try await client.request(
                .POST, "/v1/events", body: Array(#"{"name":"order/created","data":{"orderId":"o-\#(i)","amount":1}}"#.utf8))
            runIds += (response.json?["events"]?.arrayValue ?? []).flatMap { $0["runs"]?.arrayValue ?? [] }.compactMap(\.stringValue)
        }
        #expect(runIds.count == 2)
        for kill in 0..<2 {
            let target = ledger.totalStarted + 1
            #expect(await eventually(timeout: .seconds(30)) { ledger.totalStarted >= target })
            try await Task.sleep(for: .milliseconds(300))
            await coordinator.process.stop(signal: SIGKILL)
            coordinator = try await ChildCoordinator.start(
                dataDirectory: data, httpPort: httpPort, workerPort: workerPort,
                checksInvariants: true, logPath: directory.path + "/coordinator-\(kill + 2).log")
        }
        let finished = try await coordinator.client().waitForRuns(runIds)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        #expect(ledger.totalStarted == 6, "3 steps of 2 runs, each body started once")
        #expect(ledger.executions.values.allSatisfy { $0 == 1 })
        #expect(ledger.maxRunning["w"] == 1, "never two bodies at once on a 1-slot worker")
        for run in finished.values {
            #expect(run["startedAt"]?.isNull == false)
        }
        await worker.shutdown()
        await coordinator.process.stop()
    }
}
