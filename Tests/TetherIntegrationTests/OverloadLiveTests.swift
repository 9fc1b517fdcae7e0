import Foundation
import Synchronization
import Testing
import TetherEngine
import TetherTestSupport

@testable import Tether
import TetherClient

/// Backpressure over real HTTP, TLS and RocksDB (docs/operations.md, "Backpressure"): offered far
/// more events than it can take, the coordinator answers the excess `429 overloaded` with a
/// `Retry-After` instead of holding them, and every event it answered `200` runs.
@Suite("Overload", .serialized)
struct OverloadLiveTests {
    /// What the open-loop sender saw.
    struct Tally {
        var accepted: [String] = []
        var overloaded = 0
        var retryAfters: Set<String> = []
        var other: [String] = []
        var peakActiveRuns = 0
    }

    final class Recorder: Sendable {
        let state = Mutex(Tally())
        func update(_ body: (inout Tally) -> Void) { state.withLock { body(&$0) } }
        var tally: Tally { state.withLock { $0 } }
    }

    @Test("open-loop overload: the excess gets 429 with Retry-After, active runs stay bounded, every event answered 200 runs")
    func openLoopOverload() async throws {
        let maxActiveRuns = 300
        let batch = 20
        let coordinator = try await TestCoordinator { configuration in
            configuration.limits.maxPendingEventRequests = 8
            configuration.limits.maxActiveRuns = maxActiveRuns
        }
        let client = try coordinator.client()
        let work = TetherFunction("work", trigger: .event("test/load")) { (ctx: Context<JSONValue>) -> String in
            try await ctx.step.run("a") { () async throws -> String in
                try await Task.sleep(for: .milliseconds(2))
                return "ok"
            }
        }
        let worker = TestWorker(functions: [work], options: coordinator.workerOptions(instanceId: "load", capacity: 16))
        #expect(
            try await eventually {
                try await client.request(.GET, "/v1/functions").json?["functions"]?.arrayValue?.count == 1
            })

        // Open loop: a request of 20 events every 2 ms for 3 s on its own connection, sent
        // whatever the answers: 10,000 events a second, several times what the worker drains.
        let tally = Recorder()
        let port = coordinator.endpoints.httpPort
        let body = Array(
            ("[" + (0..<batch).map { #"{"name":"test/load","data":{"i":\#($0)}}"# }.joined(separator: ",") + "]").utf8)
        let sampling = Task {
            while !Task.isCancelled {
                if let active = try? await client.request(.GET, "/v1/status").json?["coordinator"]?["activeRuns"]?.int64Value {
                    tally.update { $0.peakActiveRuns = max($0.peakActiveRuns, Int(active)) }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            var sent = 0
            while ContinuousClock.now - start < .seconds(3) {
                group.addTask {
                    do {
                        let answer = try await HTTPExchange.send(port: port, .POST, "/v1/events", body: body)
                        let json = try? JSONValue(parsing: answer.body)
                        tally.update { tally in
                            switch answer.status {
                            case 200:
                                for receipt in json?["events"]?.arrayValue ?? [] {
                                    tally.accepted += receipt["runs"]?.arrayValue?.compactMap(\.stringValue) ?? []
                                }
                            case 429 where json?["error"]?["code"]?.stringValue == "overloaded":
                                tally.overloaded += 1
                                tally.retryAfters.insert(answer.headers.first(name: "retry-after") ?? "(none)")
                            default:
                                tally.other.append("\(answer.status) \(answer.text)")
                            }
                        }
                    } catch {
                        tally.update { $0.other.append("\(error)") }
                    }
                }
                sent += 1
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        sampling.cancel()
        let seen = tally.tally
        print("overload: \(seen.accepted.count) runs accepted, \(seen.overloaded) requests answered 429, peak active runs \(seen.peakActiveRuns)")
        #expect(seen.other.isEmpty, "answers other than 200 and 429 overloaded: \(seen.other.prefix(3))")
        #expect(seen.overloaded > 0)
        #expect(seen.retryAfters == ["1"])
        #expect(!seen.accepted.isEmpty)
        // A request is refused once the limit is reached; one admitted at the limit adds its batch.
        #expect(seen.peakActiveRuns <= maxActiveRuns + batch)

        // Every event that got a 200 runs to completion.
        let runs = try await client.waitForRuns(seen.accepted, timeout: .seconds(180))
        #expect(runs.count == seen.accepted.count)
        #expect(runs.values.allSatisfy { $0["status"]?.stringValue == "completed" })

        // Every reason's series exists from the start: the active-run bound must have counted.
        let metrics = try await MetricsLiveTests.scrape(client)
        #expect((metrics[#"tether_overloaded_total{reason="active_runs"}"#] ?? 0) > 0)
        #expect(metrics["tether_dispatch_held"] == 0)
        await worker.shutdown()
        await coordinator.shutdown()
    }
}
