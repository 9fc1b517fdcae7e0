import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import Tether
import TetherEngine
import TetherTestSupport

@testable import TetherCoordinator

@Suite("The dashboard against a live coordinator", .serialized)
struct DashboardLiveTests {
    @Test("GET / serves the page with its Content-Security-Policy, without an API key under serve")
    func servesPage() async throws {
        let coordinator = try await TestCoordinator { $0.apiKeys = ["k-1"] }
        let page = try await HTTPExchange.send(port: coordinator.endpoints.httpPort, .GET, "/")
        #expect(page.status == 200)
        #expect(page.contentType == "text/html; charset=utf-8")
        #expect(page.headers.first(name: "content-security-policy") == Dashboard.contentSecurityPolicy)
        #expect(page.text == Dashboard.html)
        // The page's API calls are what needs the key: 401 makes it ask for one.
        let status = try await HTTPExchange.send(port: coordinator.endpoints.httpPort, .GET, "/v1/status")
        #expect(status.status == 401)
        await coordinator.shutdown()
    }

    /// Keys of each object in `values` (objects, or arrays of objects).
    static func keys(_ values: [JSONValue?]) -> Set<String> {
        var keys: Set<String> = []
        for value in values.compactMap({ $0 }) {
            if let object = value.objectValue { keys.formUnion(object.keys) }
            for element in value.arrayValue ?? [] {
                if let object = element.objectValue { keys.formUnion(object.keys) }
            }
        }
        return keys
    }

    @Test("every field the script reads exists in the documents the coordinator serves")
    func fieldsExist() async throws {
        let coordinator = try await TestCoordinator { $0.workerHistoryIntervalMilliseconds = 100 }
        let child = TetherFunction("price", trigger: .event("never/sent")) { (ctx: Context<Item>) -> Int in
            try await ctx.step.run("compute") { 42 }
        }
        let parent = TetherFunction("ship", trigger: .event("ship/requested")) { (ctx: Context<Item>) -> String in
            async let label: String = ctx.step.run("print-label") { "label" }
            async let pickup: String = ctx.step.run("book-pickup") { "pickup" }
            let (a, b) = try await (label, pickup)
            let price: Int = try await ctx.step.invoke("quote", function: child, data: ctx.event.data)
            let _: Event<Approval>? = try await ctx.step.waitForEvent(
                "approval", event: "ship/approved", match: "async.data.id == event.data.id", timeout: .seconds(60))
            try await ctx.step.sleep("carrier-delay", for: .milliseconds(50))
            _ = try await ctx.step.sendEvent("announce", [OutgoingEvent(name: "ship/done", data: ctx.event.data)])
            return "\(a) \(b) \(price)"
        }
        let broken = TetherFunction("broken", trigger: .event("ship/broken")) { (ctx: Context<Item>) -> Int in
            try await ctx.step.run("explode") { () -> Int in
                throw NonRetriableError("no carrier for \(ctx.event.data.id)")
            }
        }
        let nightly = TetherFunction("nightly", trigger: .cron("0 3 * * *")) { (_: Context<[String: JSONValue]>) in }
        let worker = TestWorker(
            functions: [child, parent, broken, nightly],
            options: coordinator.workerOptions(instanceId: "w-1", capacity: 4))
        let client = try coordinator.client()
        #expect(try await DurablePrimitivesLiveTests.connected(client, workers: 1))

        let runId = try #require(
            try await DurablePrimitivesLiveTests.post(client, "ship/requested", ["id": "o-1"]).first)
        let failedId = try #require(
            try await DurablePrimitivesLiveTests.post(client, "ship/broken", ["id": "o-2"]).first)
        // Waiting for the approval itself (the invoke before it also reads as a waiting run).
        #expect(
            try await eventually {
                try await client.runJSON(runId)["steps"]?.arrayValue?.contains {
                    $0["kind"]?.stringValue == "waitForEvent" && $0["status"]?.stringValue == "waiting"
                } == true
            })
        let waiting = try await client.runJSON(runId)
        _ = try await DurablePrimitivesLiveTests.post(client, "ship/approved", ["id": "o-1", "by": "ann"])
        let ended = try await client.waitForRuns([runId, failedId])
        let done = try #require(ended[runId])
        let failed = try #require(ended[failedId])
        #expect(done["status"]?.stringValue == "completed")
        let approval = done["steps"]?.arrayValue?.first { $0["kind"]?.stringValue == "waitForEvent" }
        #expect(approval?["output"]?["data"]?["by"]?.stringValue == "ann", "the approval matched, not a timeout")
        #expect(failed["status"]?.stringValue == "failed")
        let childId = try #require(
            done["steps"]?.arrayValue?.first { $0["kind"]?.stringValue == "invoke" }?["childRun"]?.stringValue)
        let childRun = try await client.runJSON(childId)

        let status = try #require(try await client.request(.GET, "/v1/status").json)
        #expect(
            try await eventually {
                try await client.request(.GET, "/v1/workers").json?["workers"]?[0]?["history"]?.arrayValue?.isEmpty
                    == false
            })
        let workers = try #require(try await client.request(.GET, "/v1/workers").json)
        let functions = try #require(try await client.request(.GET, "/v1/functions").json)
        let runs = try #require(try await client.request(.GET, "/v1/runs?limit=25").json)

        let details = [waiting, done, failed, childRun]
        let steps = details.flatMap { $0["steps"]?.arrayValue ?? [] }
        let rendered: [String: Set<String>] = [
            "st": Self.keys([status]), "co": Self.keys([status["coordinator"]]), "ca": Self.keys([status["capacity"]]),
            "qu": Self.keys([status["queue"]]), "wk": Self.keys([status["workers"], workers["workers"]]),
            "hs": Self.keys((workers["workers"]?.arrayValue ?? []).map { $0["history"] }),
            "fs": Self.keys([status["functions"]]), "fn": Self.keys([functions["functions"]]),
            "tg": Self.keys((functions["functions"]?.arrayValue ?? []).map { $0["triggers"] }),
            "rn": Self.keys([runs["runs"]] + details), "sp": Self.keys(steps),
            "wf": Self.keys(steps.map { $0["waitFor"] }), "pa": Self.keys(details.map { $0["parent"] }),
            "er": Self.keys(details.map { $0["error"] } + steps.map { $0["error"] }),
            "ev": Self.keys(details.map { $0["event"] }),
            "wl": Self.keys([workers]), "fl": Self.keys([functions]), "rl": Self.keys([runs]),
        ]
        #expect(Set(rendered.keys) == Set(DashboardFields.documents.keys), "every document variable is checked")
        let references = DashboardFields.references(in: Dashboard.script)
        for (name, available) in rendered.sorted(by: { $0.key < $1.key }) {
            #expect(!available.isEmpty, "no \(DashboardFields.documents[name] ?? name) was rendered to compare with")
            #expect(references[name]?.isEmpty == false, "the script reads nothing through \(name)")
            let unknown = DashboardFields.unknown(references, name, available: available)
            #expect(
                unknown.isEmpty,
                "\(name) (\(DashboardFields.documents[name] ?? "")): \(unknown.sorted()) not in \(available.sorted())")
        }
        await worker.shutdown()
        await coordinator.shutdown()
    }
}
