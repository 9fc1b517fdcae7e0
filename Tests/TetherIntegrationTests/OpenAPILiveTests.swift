import Foundation
import NIOHTTP1
import Testing
import Tether
import TetherClient
import TetherEngine

@testable import TetherCoordinator

struct Purchase: Codable, Sendable {
    var amount: Int
}

/// `GET /openapi.json` against the real server: its operations are the routes the router
/// registered, and every answer real traffic provokes is one it documents, body included.
@Suite("GET /openapi.json, live: the document matches the server", .serialized)
struct OpenAPILiveTests {
    static let apiKey = "openapi-test-key"

    static func start() async throws -> TestCoordinator {
        try await TestCoordinator {
            $0.apiKeys = [apiKey]
            $0.workerHistoryIntervalMilliseconds = 100
        }
    }

    static func fetchDocument(_ port: Int) async throws -> JSONValue {
        let answer = try await HTTPExchange.send(port: port, .GET, "/openapi.json")
        #expect(answer.status == 200)
        return try JSONValue(parsing: answer.body)
    }

    @Test("its paths and methods are exactly the routes the HTTP server registered")
    func routesMatch() async throws {
        let coordinator = try await Self.start()
        let document = try await Self.fetchDocument(coordinator.endpoints.httpPort)
        let registered = Set(coordinator.coordinator.registeredRoutes)
        let documented = OpenAPIConformance.operations(in: document)
        #expect(registered.count >= 14)
        #expect(documented.subtracting(registered).sorted() == [], "documented but not served")
        #expect(registered.subtracting(documented).sorted() == [], "served but not documented")
        #expect(registered.contains(RegisteredRoute(method: "GET", path: "/openapi.json")))
        await coordinator.shutdown()
    }

    /// Functions that leave runs in every state and set every kind of configuration.
    static func functions(_ gate: Gate) -> [TetherFunction] {
        let order = TetherFunction("order", trigger: .event("order/created")) {
            (ctx: Context<Purchase>) -> [String: Int] in
            let amount = try await ctx.step.run("reserve") { ctx.event.data.amount }
            try await ctx.step.run("charge") {
                if amount == 0 { throw NonRetriableError("amount must be positive") }
            }
            return ["charged": amount]
        }
        let nap = TetherFunction("nap", trigger: .event("nap/start")) { (ctx: Context<Purchase>) in
            try await ctx.step.sleep("nap", for: .seconds(3_600))
        }
        let approve = TetherFunction("approve", trigger: .event("approval/needed")) { (ctx: Context<Purchase>) in
            let _: Event<Purchase>? = try await ctx.step.waitForEvent(
                "approval", event: "approval/given", match: "async.data.amount == event.data.amount",
                timeout: .seconds(3_600))
        }
        let parent = TetherFunction("parent", trigger: .event("family/start")) { (ctx: Context<Purchase>) in
            try await ctx.step.invoke("child", function: "nap", data: Purchase(amount: 1))
        }
        let keyed = TetherFunction("keyed", trigger: .event("job/keyed")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("hold") { try await gate.wait() }
        }
        .concurrency(limit: 1, key: "event.data.tenant")
        let limited = TetherFunction(
            "limited", trigger: .event("job/limited", if: "event.data.n >= 0"), cancelOn: [CancelOn(event: "job/stop")],
            timeouts: Timeouts(finish: .seconds(3_600)), idempotency: "event.data.n"
        ) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("work") { ctx.event.data.n }
        }
        .rateLimit(limit: 1, per: .seconds(60))
        .priority("event.data.n")
        let debounced = TetherFunction("debounced", trigger: .event("job/typed")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("save") { ctx.event.data.n }
        }
        .debounce(.milliseconds(100), key: "event.data.tenant", timeout: .seconds(5))
        let nightly = TetherFunction("nightly", trigger: .cron("0 3 * * *")) { (_: Context<[String: JSONValue]>) in }
        return [order, nap, approve, parent, keyed, limited, debounced, nightly]
    }

    @Test("every answer to real traffic is documented, and its body validates against the declared schema")
    func answersMatchSchemas() async throws {
        let coordinator = try await Self.start()
        let port = coordinator.endpoints.httpPort
        let spec = OpenAPIConformance(document: try await Self.fetchDocument(port))
        func call(
            _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, key: String? = Self.apiKey
        ) async throws -> HTTPExchange {
            try await HTTPExchange.send(port: port, method, path, body: body, apiKey: key)
        }
        func json(_ value: JSONValue) -> [UInt8] { value.serialized() }

        // Open routes; the key-protected ones without a key, or a wrong one.
        spec.check(try await call(.GET, "/healthz", key: nil), "GET", "/healthz", 200)
        spec.check(try await call(.GET, "/readyz", key: nil), "GET", "/readyz", 200)
        spec.check(try await call(.GET, "/", key: nil), "GET", "/", 200)
        spec.check(try await call(.GET, "/openapi.json", key: nil), "GET", "/openapi.json", 200)
        spec.check(try await call(.GET, "/metrics", key: nil), "GET", "/metrics", 401)
        spec.check(try await call(.GET, "/metrics"), "GET", "/metrics", 200)
        spec.check(try await call(.GET, "/v1/runs", key: "wrong"), "GET", "/v1/runs", 401)
        for operation in spec.declared.keys.sorted() where operation.contains(" /v1/") {
            let method = String(operation.prefix { $0 != " " })
            let template = String(operation.dropFirst(method.count + 1))
            let path = template.replacingOccurrences(of: "{id}", with: "some-run")
            spec.check(
                try await call(HTTPMethod(rawValue: method), path, body: json([:]), key: nil), method, template, 401)
        }

        let gate = Gate()
        let worker = TestWorker(
            functions: Self.functions(gate), options: coordinator.workerOptions(instanceId: "openapi-w", capacity: 8))
        let client = try TetherClient(url: coordinator.httpURL, apiKey: Self.apiKey)
        #expect(
            try await eventually {
                try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1
            })
        spec.check(try await call(.GET, "/v1/functions"), "GET", "/v1/functions", 200)

        // Events: accepted, duplicate, flow-controlled; then every kind of bad request.
        var runIds: [String] = []
        func send(_ events: JSONValue) async throws -> [JSONValue] {
            let answer = try await call(.POST, "/v1/events", body: json(events))
            spec.check(answer, "POST", "/v1/events", 200)
            #expect(
                spec.requestProblems(events, "POST", "/v1/events") == [], "the document accepts what the server took")
            let receipts = (try? JSONValue(parsing: answer.body))?["events"]?.arrayValue ?? []
            for id in receipts.flatMap({ ($0["runs"]?.arrayValue ?? []).compactMap(\.stringValue) })
            where !runIds.contains(id) {
                runIds.append(id)
            }
            return receipts
        }
        _ = try await send([
            "name": "order/created", "data": ["amount": 5], "id": "order-1", "ts": 1_700_000_000_000, "v": "1",
        ])
        _ = try await send(["name": "order/created", "data": ["amount": 5], "id": "order-1"])
        let receipts = try await send([
            ["name": "order/created", "data": ["amount": 0]], ["name": "nap/start", "data": ["amount": 1]],
            ["name": "approval/needed", "data": ["amount": 2]], ["name": "family/start", "data": ["amount": 3]],
            ["name": "job/limited", "data": ["tenant": "a", "n": 1]],
            ["name": "job/limited", "data": ["tenant": "a", "n": 2]],
            ["name": "job/typed", "data": ["tenant": "a", "n": 1]],
            ["name": "job/keyed", "data": ["tenant": "a", "n": 1]],
            ["name": "job/keyed", "data": ["tenant": "a", "n": 2]], ["name": "no/function", "data": .null],
        ])
        #expect(receipts[5]["skipped"]?[0]?["reason"] == "rate_limited")
        #expect(receipts[6]["deferred"]?[0]?["reason"] == "debounced")
        for bad: JSONValue in [["data": [:]], [], "event", ["name": 7], [["name": "x"], ["data": [:]]]] {
            #expect(spec.requestProblems(bad, "POST", "/v1/events") != [], "the document refuses \(bad) too")
        }
        for bad: [UInt8] in [
            Array("not json".utf8), json(["data": [:]]), json([]), json("event"), json(["name": "a b"]),
        ] {
            spec.check(try await call(.POST, "/v1/events", body: bad), "POST", "/v1/events", 400)
        }
        let tooMany = JSONValue.array(Array(repeating: ["name": "x"], count: 1_001))
        spec.check(try await call(.POST, "/v1/events", body: json(tooMany)), "POST", "/v1/events", 413)
        let bigData: JSONValue = ["name": "x", "data": ["blob": .string(String(repeating: "x", count: 600_000))]]
        spec.check(try await call(.POST, "/v1/events", body: json(bigData)), "POST", "/v1/events", 413)

        // Runs in every state: ended, sleeping, waiting (for an event, for a child run), running and
        // queued behind a key. ids: order-1, order 0, nap, approve, family, limited 1, keyed 1, keyed 2.
        func run(_ id: String) async throws -> JSONValue {
            try await client.request(.GET, "/v1/runs/\(id)").json ?? .null
        }
        let ids = runIds
        #expect(
            try await eventually {
                var statuses: [String: Int] = [:]
                for id in ids {
                    let status = try await run(id)["status"]?.stringValue ?? ""
                    statuses[status, default: 0] += 1
                }
                return statuses == [
                    "completed": 2, "failed": 1, "sleeping": 1, "waiting": 2, "running": 1, "queued": 1,
                ]
            })
        #expect(ids.count == 8)
        var debouncedRun: String?
        #expect(
            try await eventually {
                debouncedRun = try await client.request(.GET, "/v1/runs?function=shop:debounced").json?["runs"]?[0]?[
                    "id"]?.stringValue
                return debouncedRun != nil
            })
        let childRun = try #require(try await run(ids[4])["steps"]?[0]?["childRun"]?.stringValue)
        for id in ids + [try #require(debouncedRun), childRun] {
            spec.check(try await call(.GET, "/v1/runs/\(id)"), "GET", "/v1/runs/{id}", 200)
        }
        spec.check(try await call(.GET, "/v1/runs/no-such-run"), "GET", "/v1/runs/{id}", 404)

        // Listing: pages, filters, bad parameters.
        let firstPage = try await call(.GET, "/v1/runs?limit=3")
        spec.check(firstPage, "GET", "/v1/runs", 200)
        let next = try #require(try JSONValue(parsing: firstPage.body)["next"]?.stringValue)
        spec.check(try await call(.GET, "/v1/runs?limit=3&cursor=\(next)"), "GET", "/v1/runs", 200)
        for query in ["", "?status=queued", "?status=completed&function=shop:order", "?function=shop:none"] {
            spec.check(try await call(.GET, "/v1/runs\(query)"), "GET", "/v1/runs", 200)
        }
        for query in ["?status=asleep", "?limit=0", "?limit=1001", "?limit=ten"] {
            spec.check(try await call(.GET, "/v1/runs\(query)"), "GET", "/v1/runs", 400)
        }

        // Status, workers (once history has samples with a step in flight), and the stream.
        spec.check(try await call(.GET, "/v1/status"), "GET", "/v1/status", 200)
        #expect(
            try await eventually {
                let workers = try await call(.GET, "/v1/workers")
                return (try? JSONValue(parsing: workers.body))?["workers"]?[0]?["history"]?.arrayValue?.isEmpty == false
            })
        spec.check(try await call(.GET, "/v1/workers"), "GET", "/v1/workers", 200)
        let stream = try await HTTPExchange.send(port: port, .GET, "/v1/status/stream", apiKey: Self.apiKey) {
            String(decoding: $0, as: UTF8.self).contains("\n\n")
        }
        spec.check(stream, "GET", "/v1/status/stream", 200)
        let data = try #require(stream.text.split(separator: "\n").first { $0.hasPrefix("data: ") })
        let streamSchema = spec.declaredResponse("GET", "/v1/status/stream", 200)?["content"]?["text/event-stream"]?[
            "schema"]?["properties"]?["data"]?["contentSchema"]
        spec.validate(
            try JSONValue(parsing: Array(data.dropFirst(6).utf8)), against: try #require(streamSchema), "status event")
        // `/v1/status` is a snapshot up to 250 ms old (docs/operations.md, "Backpressure"): the
        // keyed run queued above shows in the next one, not necessarily in the one served now.
        #expect(
            try await eventually {
                let status = try await client.request(.GET, "/v1/status").json
                let keyed = status?["functions"]?.arrayValue?.first { $0["id"] == "shop:keyed" }
                return keyed?["keys"]?.arrayValue?.isEmpty == false
            }, "the status showed a keyed queue")

        // Cancel: an active run, an ended one, an unknown one.
        spec.check(try await call(.POST, "/v1/runs/\(ids[3])/cancel"), "POST", "/v1/runs/{id}/cancel", 200)
        spec.check(try await call(.POST, "/v1/runs/\(ids[3])/cancel"), "POST", "/v1/runs/{id}/cancel", 409)
        spec.check(try await call(.POST, "/v1/runs/no-such-run/cancel"), "POST", "/v1/runs/{id}/cancel", 404)

        gate.release()
        _ = try await client.waitForRuns([ids[6], ids[7]])
        await worker.shutdown()

        // A single node's view of the cluster.
        let cluster = try await call(.GET, "/v1/cluster")
        spec.check(cluster, "GET", "/v1/cluster", 200)
        #expect((try? JSONValue(parsing: cluster.body))?["role"]?.stringValue == "single")

        // Backups: none yet, one, then the list with it.
        spec.check(try await call(.GET, "/v1/admin/backups"), "GET", "/v1/admin/backups", 200)
        spec.check(try await call(.POST, "/v1/admin/backups"), "POST", "/v1/admin/backups", 201)
        let backups = try await call(.GET, "/v1/admin/backups")
        spec.check(backups, "GET", "/v1/admin/backups", 200)
        #expect((try? JSONValue(parsing: backups.body))?["backups"]?.arrayValue?.count == 1)

        // Drain: bad bodies, then one that stops the coordinator.
        for bad in [Array("drain!".utf8), json(["reconnectWithinMs": 5]), json(["reconnectWithinMs": "soon"])] {
            spec.check(try await call(.POST, "/v1/admin/drain", body: bad), "POST", "/v1/admin/drain", 400)
        }
        let huge = json(["pad": .string(String(repeating: "x", count: 5_000))])
        spec.check(try await call(.POST, "/v1/admin/drain", body: huge), "POST", "/v1/admin/drain", 413)
        #expect(spec.requestProblems(["reconnectWithinMs": 5], "POST", "/v1/admin/drain") != [])
        #expect(spec.requestProblems(["reconnectWithinMs": "soon"], "POST", "/v1/admin/drain") != [])
        let drain: JSONValue = ["reconnectWithinMs": 100]
        #expect(spec.requestProblems(drain, "POST", "/v1/admin/drain") == [])
        spec.check(try await call(.POST, "/v1/admin/drain", body: json(drain)), "POST", "/v1/admin/drain", 202)

        // Every operation's success answer was seen; list the documented answers traffic did not reach.
        for (operation, statuses) in spec.declared {
            let success = statuses.filter { $0 < 300 }
            #expect(
                success.contains { spec.seen.contains("\(operation) \($0)") }, "\(operation): no success answer checked"
            )
        }
        let unseen = spec.declared.flatMap { operation, statuses in
            statuses.map { "\(operation) \($0)" }.filter { !spec.seen.contains($0) }
        }
        print("OpenAPI answers not provoked by this test: \(unseen.sorted())")
        await coordinator.shutdown()
    }
}
