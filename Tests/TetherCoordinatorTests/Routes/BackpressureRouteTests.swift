import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import TetherTestSupport

@testable import TetherCoordinator
@testable import TetherEngine

/// The bounds of docs/operations.md ("Backpressure") through the real router and a real store:
/// `429 overloaded` with `Retry-After`, nothing of a refused request accepted, and work accepted
/// again once the bound no longer holds.
@Suite("Routes in memory: backpressure")
struct BackpressureRouteTests {
    /// Sends `count` event requests at once; returns the answers.
    static func burst(_ client: any TestClientProtocol, count: Int, body: String) async throws -> [TestResponse] {
        try await withThrowingTaskGroup(of: TestResponse.self) { group in
            for _ in 0..<count {
                group.addTask { try await client.request(.post, "/v1/events", body: body) }
            }
            var answers: [TestResponse] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
    }

    static func overloadedCount(_ client: any TestClientProtocol, reason: String) async throws -> Double? {
        MetricsText(try await client.request(.get, "/metrics").text)[#"tether_overloaded_total{reason="\#(reason)"}"#]
    }

    @Test("past maxUncommittedWriteBytes, events get 429 with Retry-After until the store has caught up")
    func storeBehind() async throws {
        try await RouterFixture.test(configure: {
            $0.durability = .strict
            // Every write puts the store behind until it is durable.
            $0.limits.maxUncommittedWriteBytes = 1
        }) { client, _ in
            let answers = try await Self.burst(client, count: 40, body: #"[{"name":"load/a"},{"name":"load/b"}]"#)
            let refused = answers.filter { $0.status == .tooManyRequests }
            #expect(answers.allSatisfy { $0.status == .ok || $0.status == .tooManyRequests })
            #expect(answers.contains { $0.status == .ok })
            #expect(!refused.isEmpty)
            for answer in refused {
                #expect(answer.errorCode == "overloaded")
                #expect(answer.headers[.retryAfter] == "1")
                RouteTests.conforms(answer, "POST", "/v1/events")
            }
            #expect(try await Self.overloadedCount(client, reason: "uncommitted_writes") == Double(refused.count))
            // Alone, once everything is durable, a request is accepted again.
            let alone = try await client.request(.post, "/v1/events", body: #"{"name":"load/c"}"#)
            #expect(alone.status == .ok)
        }
    }

    @Test("past maxActiveRuns, events get 429 and nothing of them is stored")
    func activeRuns() async throws {
        try await RouterFixture.test(configure: { $0.limits.maxActiveRuns = 0 }) { client, _ in
            let refused = try await client.request(.post, "/v1/events", body: #"{"name":"load/a","id":"e-1"}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.errorCode == "overloaded")
            #expect(refused.headers[.retryAfter] == "1")
            RouteTests.conforms(refused, "POST", "/v1/events")
            #expect(try await Self.overloadedCount(client, reason: "active_runs") == 1)
            // Nothing of it was accepted: the id is unknown.
            let runs = try await client.request(.get, "/v1/runs")
            #expect(runs.text == #"{"next":null,"runs":[]}"#)
        }
    }
}
