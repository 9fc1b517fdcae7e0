import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TetherAPI
import TetherTestSupport

@testable import TetherCoordinator
@testable import TetherEngine

/// The HTTP API through the real router, in memory: every answer checked against the document
/// the server serves (`openapi.yaml`), errors included.
@Suite("Routes in memory: the API as the document describes it")
struct RouteTests {
    static let contract = OpenAPIContract(document: try! JSONValue(parsing: OpenAPIDocument.json))
    static let key = "route-test-key"
    static let auth: HTTPFields = [.authorization: "Bearer \(key)"]

    /// Checks that `response` is a documented answer of `method template`: status, content type,
    /// body schema, and for an error, a listed code.
    static func conforms(
        _ response: TestResponse, _ method: String, _ template: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let problems = contract.answerProblems(
            method, template, status: Int(response.status.code), contentType: response.headers[.contentType] ?? "",
            body: Array(buffer: response.body))
        #expect(problems == [], sourceLocation: sourceLocation)
    }

    @Test("the routes are exactly the operations of the document")
    func routesAreTheDocument() async throws {
        try await RouterFixture.test { _, fixture in
            let documented = Set(Self.contract.operations.map { RegisteredRoute(method: $0.method, path: $0.path) })
            #expect(Set(fixture.routes) == documented)
        }
    }

    @Test("events, runs, functions, status and workers answer as documented on an empty coordinator")
    func happyPaths() async throws {
        try await RouterFixture.test { client, _ in
            let sent = try await client.request(.post, "/v1/events", body: #"{"name":"order/created","id":"e-1"}"#)
            #expect(sent.status == .ok)
            Self.conforms(sent, "POST", "/v1/events")
            #expect(sent.text == #"{"events":[{"id":"e-1","runs":[]}]}"#)
            // curl -d sends a form content type; the body is JSON all the same.
            let form = try await client.request(
                .post, "/v1/events", body: #"[{"name":"a"},{"name":"b","ts":5,"data":{"n":18446744073709551615}}]"#,
                headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(form.status == .ok)
            #expect(form.json?["events"]?.arrayValue?.count == 2)
            for (method, path) in [
                ("GET", "/v1/runs"), ("GET", "/v1/functions"), ("GET", "/v1/status"), ("GET", "/v1/workers"),
            ] {
                let answer = try await client.request(HTTPRequest.Method(method)!, path)
                #expect(answer.status == .ok, "\(path)")
                Self.conforms(answer, method, path)
            }
            let runs = try await client.request(.get, "/v1/runs?limit=10&status=queued&function=shop%3Aa")
            #expect(runs.text == #"{"next":null,"runs":[]}"#)
            let health = try await client.request(.get, "/healthz")
            #expect(health.text == "{\"status\":\"ok\"}\n")
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .ok)
            let openAPI = try await client.request(.get, "/openapi.json")
            #expect(Array(buffer: openAPI.body) == OpenAPIDocument.json)
            let dashboard = try await client.request(.get, "/")
            #expect(dashboard.headers[.contentType]?.hasPrefix("text/html") == true)
            let head = try await client.request(.head, "/v1/status")
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
        }
    }

    @Test("bad input: each refusal has its status, its code and a documented body")
    func badInput() async throws {
        try await RouterFixture.test { client, _ in
            func refused(
                _ method: HTTPRequest.Method, _ uri: String, _ template: String, body: String? = nil, status: Int,
                code: String, sourceLocation: SourceLocation = #_sourceLocation
            ) async throws {
                let answer = try await client.request(method, uri, body: body)
                #expect(Int(answer.status.code) == status, "\(uri) \(body ?? ""): \(answer.text)", sourceLocation: sourceLocation)
                #expect(answer.errorCode == code, "\(answer.text)", sourceLocation: sourceLocation)
                Self.conforms(answer, method.rawValue, template, sourceLocation: sourceLocation)
            }
            let events = "/v1/events"
            try await refused(.post, events, events, body: "{not json", status: 400, code: "invalid_json")
            try await refused(.post, events, events, body: #"{"name":"a","name":"b"}"#, status: 400, code: "invalid_json")
            try await refused(.post, events, events, body: #"{"data":{}}"#, status: 400, code: "invalid_input")
            try await refused(.post, events, events, body: #"{"name":"Process an order"}"#, status: 400, code: "invalid_input")
            try await refused(.post, events, events, body: #"{"name":"a","ts":1.5}"#, status: 400, code: "invalid_input")
            try await refused(.post, events, events, body: "[]", status: 400, code: "invalid_input")
            try await refused(.post, events, events, body: "", status: 400, code: "invalid_input")
            let many = "[" + Array(repeating: #"{"name":"a"}"#, count: 1_001).joined(separator: ",") + "]"
            try await refused(.post, events, events, body: many, status: 413, code: "payload_too_large")
            let big = #"{"name":"a","data":{"x":""# + String(repeating: "x", count: 600 * 1024) + #""}}"#
            try await refused(.post, events, events, body: big, status: 413, code: "payload_too_large")
            for query in [
                "limit=", "status=", "function=", "cursor=", "limit=+5", "limit=-1", "limit=0", "limit=1001",
                "limit=abc", "status=sleepy", "cursor=garbage",
            ] {
                try await refused(.get, "/v1/runs?\(query)", "/v1/runs", status: 400, code: "invalid_input")
            }
            try await refused(.get, "/v1/runs/01UNKNOWNRUN", "/v1/runs/{id}", status: 404, code: "not_found")
            try await refused(.post, "/v1/runs/01UNKNOWNRUN/cancel", "/v1/runs/{id}/cancel", status: 404, code: "not_found")
            let drain = "/v1/admin/drain"
            try await refused(.post, drain, drain, body: #"{"reconnectWithinMs":5}"#, status: 400, code: "invalid_input")
            try await refused(.post, drain, drain, body: #"{"reconnectWithinMs":"x"}"#, status: 400, code: "invalid_input")
            try await refused(.post, drain, drain, body: "zz", status: 400, code: "invalid_json")
            try await refused(.post, drain, drain, body: String(repeating: " ", count: 5_000), status: 413, code: "payload_too_large")

            let unknown = try await client.request(.get, "/v1/nothing-here")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "not_found")
            let wrongMethod = try await client.request(.delete, "/v1/runs/x")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.errorCode == "method_not_allowed")
            #expect(wrongMethod.headers[.allow] == "GET, HEAD")
        }
    }

    @Test("under API keys every /v1 path asks for one first, known or not; /metrics unless public; health never")
    func apiKeys() async throws {
        for metricsPublic in [false, true] {
            try await RouterFixture.test(configure: {
                $0.apiKeys = [Self.key]
                $0.metricsPublic = metricsPublic
            }) { client, _ in
                for path in ["/v1/status", "/v1/nothing-here", "/v1", "/v1/runs/x/cancel"] {
                    let answer = try await client.request(.get, path)
                    #expect(answer.status == .unauthorized, "\(path)")
                    #expect(answer.errorCode == "unauthenticated")
                }
                Self.conforms(try await client.request(.get, "/v1/status"), "GET", "/v1/status")
                let lower = try await client.request(.get, "/v1/status", headers: [.authorization: "bearer \(Self.key)"])
                #expect(lower.status == .ok)
                let wrong = try await client.request(.get, "/v1/status", headers: [.authorization: "Bearer nope"])
                #expect(wrong.status == .unauthorized)
                #expect(try await client.request(.get, "/v1/nothing-here", headers: Self.auth).status == .notFound)
                let metrics = try await client.request(.get, "/metrics")
                #expect(metrics.status == (metricsPublic ? .ok : .unauthorized))
                for open in ["/healthz", "/readyz", "/openapi.json", "/"] {
                    #expect(try await client.request(.get, open).status == .ok, "\(open)")
                }
            }
        }
    }

    @Test("a drain is 202 with its window, /readyz turns 503 draining at once, and a second drain is 409")
    func drain() async throws {
        try await RouterFixture.test { client, fixture in
            let accepted = try await client.request(.post, "/v1/admin/drain", body: #"{"reconnectWithinMs":1500}"#)
            #expect(accepted.status == .accepted)
            #expect(accepted.text == #"{"reconnectWithinMs":1500,"status":"draining"}"#)
            Self.conforms(accepted, "POST", "/v1/admin/drain")
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.errorCode == "draining")
            let again = try await client.request(.post, "/v1/admin/drain")
            #expect(again.status == .conflict)
            #expect(again.errorCode == "draining")
            Self.conforms(again, "POST", "/v1/admin/drain")
            // The drain itself starts 100 ms after the answer leaves.
            try await Task.sleep(for: .milliseconds(300))
            #expect(fixture.drains.all == [1_500])
        }
    }
}
