import Foundation
import Testing
import Tether
import TetherClient
import TetherEngine
import TetherProcess
@testable import TetherStore

/// Retention, as a user sees it: `tether dev --retention 2s`, real workers, the API and then the
/// store itself.
@Suite("Retention, live", .serialized)
struct RetentionLiveTests {
    struct Order: Codable, Sendable { var id: String }

    static func send(_ client: TetherClient, _ name: String, id: String, dataId: String? = nil) async throws -> JSONValue {
        let event: JSONValue = ["name": .string(name), "id": .string(id), "data": ["id": .string(dataId ?? id)]]
        let response = try await client.request(.POST, "/v1/events", body: event.serialized())
        try response.throwIfError()
        return response.json?["events"]?[0] ?? .null
    }

    static func runId(_ receipt: JSONValue) throws -> String {
        try #require(receipt["runs"]?[0]?.stringValue)
    }

    @Test("--retention 2s: ended runs leave the API and the store with their steps and events; live runs, waits and event-id deduplication stay")
    func endedRunsGo() async throws {
        let directory = try TemporaryDirectory("tether-retention")
        let coordinator = try await ChildCoordinator.start(
            dataDirectory: directory.path + "/data", httpPort: try await freePort(), workerPort: try await freePort(),
            checksInvariants: true, logPath: directory.path + "/coordinator.log", extraArguments: ["--retention", "2s"])
        let client = try coordinator.client()
        let quick = TetherFunction("quick", trigger: .event("order/quick")) { (ctx: Context<Order>) -> String in
            let a: String = try await ctx.step.run("a") { "a-\(ctx.event.data.id)" }
            let b: String = try await ctx.step.run("b") { "b" }
            return a + b
        }
        let sleeper = TetherFunction("sleeper", trigger: .event("order/sleep")) { (ctx: Context<Order>) -> String in
            _ = try await ctx.step.run("before") { "before" }
            try await ctx.step.sleep("long", for: .seconds(600))
            return "woke"
        }
        let waiter = TetherFunction("waiter", trigger: .event("order/wait")) { (ctx: Context<Order>) -> String in
            let reply: Event<Order>? = try await ctx.step.waitForEvent(
                "reply", event: "order/reply", match: "async.data.id == event.data.id", timeout: .seconds(600))
            return reply == nil ? "timed out" : "replied"
        }
        let worker = TestWorker(
            functions: [quick, sleeper, waiter], options: try coordinator.workerOptions(instanceId: "retention", capacity: 8))
        #expect(try await eventually { try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1 })

        let sleeping = try Self.runId(try await Self.send(client, "order/sleep", id: "s-1"))
        let waiting = try Self.runId(try await Self.send(client, "order/wait", id: "w-1"))
        var ended: [String] = []
        for index in 1...3 { ended.append(try Self.runId(try await Self.send(client, "order/quick", id: "q-\(index)"))) }
        let finished = try await client.waitForRuns(ended)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        #expect(try await eventually {
            let sleepingStatus = try await client.runJSON(sleeping)["status"]?.stringValue
            let waitingStatus = try await client.runJSON(waiting)["status"]?.stringValue
            return sleepingStatus == "sleeping" && waitingStatus == "waiting"
        })

        // Gone from the API, after the window and a sweep (the sweep runs every second).
        let gone = try await eventually(timeout: .seconds(60)) {
            for id in ended where try await client.request(.GET, "/v1/runs/\(id)").status != 404 { return false }
            return true
        }
        #expect(gone)
        let missing = try await client.request(.GET, "/v1/runs/\(ended[0])")
        #expect(missing.status == 404)
        #expect(missing.json?["error"]?["code"]?.stringValue == "not_found")
        let listed = Set((try await client.request(.GET, "/v1/runs?limit=100").json?["runs"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
        #expect(listed == [sleeping, waiting])
        let byFunction = try await client.request(.GET, "/v1/runs?function=shop:quick").json?["runs"]?.arrayValue ?? [.null]
        #expect(byFunction.isEmpty)

        // Live runs keep their events past the window.
        try await Task.sleep(for: .seconds(3))
        let asleep = try await client.runJSON(sleeping)
        #expect(asleep["status"]?.stringValue == "sleeping")
        #expect(asleep["event"]?["id"]?.stringValue == "s-1")
        #expect(try await client.runJSON(waiting)["status"]?.stringValue == "waiting")

        // The event id still deduplicates: the answer names the run it started (deleted since),
        // and no new run starts.
        let again = try await Self.send(client, "order/quick", id: "q-1")
        #expect(again["id"]?.stringValue == "q-1")
        #expect(again["runs"]?.arrayValue?.compactMap(\.stringValue) == [ended[0]])

        // The wait still resolves: the run was untouched.
        _ = try await Self.send(client, "order/reply", id: "r-1", dataId: "w-1")
        let replied = try await client.waitForRuns([waiting])
        #expect(replied[waiting]?["output"] == "replied")

        let after = Set((try await client.request(.GET, "/v1/runs?limit=100").json?["runs"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
        #expect(after.isSubset(of: [sleeping, waiting]))

        let metrics = try await client.request(.GET, "/metrics").text
        let deletedRuns = metrics.split(separator: "\n").first { $0.hasPrefix(#"tether_retention_deleted_total{kind="runs"}"#) }
        #expect(deletedRuns.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 3 } == true, "\(deletedRuns ?? "no sample")")
        #expect(metrics.contains("tether_store_disk_bytes "))

        await worker.shutdown()
        await coordinator.process.stop()
        #expect(coordinator.brokeNoInvariant)

        // In the store: no record of the ended runs, their steps or their events' payloads; the
        // ids of their events are kept for deduplication.
        let store = try CoordinatorStore(directory: coordinator.dataDirectory + "/db", durability: .relaxed)
        defer { store.close() }
        for (index, id) in ended.enumerated() {
            #expect(try store.run(id: id) == nil)
            #expect(try store.db.scan(prefix: KeyLayout.stepPrefix(runId: id)).isEmpty)
            #expect(try store.event(id: "q-\(index + 1)") == nil)
            #expect(try store.knownEvent(id: "q-\(index + 1)")?.runIds == [id])
        }
        #expect(try store.run(id: sleeping)?.steps.isEmpty == false)
        #expect(try store.event(id: "s-1") != nil)
    }
}
