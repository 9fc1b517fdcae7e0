import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Crash and restart", .serialized)
struct CrashRestartTests {
    @Test("SIGKILL of the coordinator mid-run: workers reconnect, every run completes, no durable step runs again")
    func killCoordinatorMidRun() async throws {
        let directory = try TemporaryDirectory("tether-crash")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        var coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, logPath: directory.path + "/coordinator-1.log")

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
        // Runs with a step in flight or a result not yet acknowledged may legitimately run that
        // step again (its result was never durable); every other executed step was acknowledged.
        let exemptRuns = workers.reduce(into: Set<String>()) { $0.formUnion($1.runsNotYetDurable) }
        await coordinator.process.stop(signal: SIGKILL)
        #expect(!coordinator.process.isRunning)

        coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, logPath: directory.path + "/coordinator-2.log")
        let finished = try await coordinator.client().waitForRuns(runIds)
        #expect(finished.count == 60)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })

        let executions = ledger.executions
        let runByOrder = ledger.runIdByOrder
        #expect(executions.count == 180, "every step of every run ran")
        var repeated = 0
        for (entry, before) in executedBeforeKill where before > 0 {
            let total = executions[entry] ?? 0
            let run = runByOrder[entry.orderId] ?? ""
            if exemptRuns.contains(run) {
                #expect(total <= 2)
                if total > 1 { repeated += 1 }
            } else {
                #expect(total == 1, "\(entry) was acknowledged before the kill but ran \(total) times")
            }
        }
        print("executed before kill: \(executedBeforeKill.count) steps; runs in flight at the kill: \(exemptRuns.count); steps run again: \(repeated)")
        for worker in workers { await worker.shutdown() }
        await coordinator.process.stop()
    }
}
