import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import Tether
import TetherEngine

@Suite("GET /v1/status/stream (Server-Sent Events)", .serialized)
struct StatusStreamTests {
    /// Reads a Server-Sent Events stream until `done` holds for the events so far (or 30 s pass).
    static func readEvents(port: Int, path: String, until done: @escaping @Sendable ([JSONValue]) -> Bool) async throws
        -> (head: HTTPResponseHead?, events: [JSONValue])
    {
        let channel = try await httpChannel(port: port)
        return try await withThrowingTaskGroup(of: (HTTPResponseHead?, [JSONValue]).self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(
                        .head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: ["Host": "127.0.0.1"])))
                    try await outbound.write(.end(nil))
                    var head: HTTPResponseHead?
                    var text = ""
                    var events: [JSONValue] = []
                    for try await part in inbound {
                        switch part {
                        case .head(let value): head = value
                        case .body(let buffer): text += String(buffer: buffer)
                        case .end: return (head, events)
                        }
                        while let end = text.range(of: "\n\n") {
                            let block = text[..<end.lowerBound]
                            text = String(text[end.upperBound...])
                            for line in block.split(separator: "\n") where line.hasPrefix("data: ") {
                                events.append(try JSONValue(parsing: Array(line.dropFirst(6).utf8)))
                            }
                        }
                        if done(events) { return (head, events) }
                    }
                    return (head, events)
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw TestFailure("the status stream did not deliver the expected events within 30 s")
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }

    @Test("the stream pushes the status document at once and again when it changes")
    func pushesChanges() async throws {
        let coordinator = try await TestCoordinator()
        let options = coordinator.workerOptions(instanceId: "streamed", capacity: 3)
        let connect = Task {
            try await Task.sleep(for: .milliseconds(500))
            return TestWorker(functions: [], options: options)
        }
        let (head, events) = try await Self.readEvents(port: coordinator.endpoints.httpPort, path: "/v1/status/stream") {
            $0.last?["workers"]?.arrayValue?.count == 1
        }
        #expect(head?.status == .ok)
        #expect(head?.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
        #expect(events.first?["workers"]?.arrayValue?.isEmpty == true, "the first event is the state at connect")
        #expect(events.last?["capacity"]?["total"]?.int64Value == 3)
        #expect(events.last?["workers"]?[0]?["instanceId"]?.stringValue == "streamed")
        await (try connect.value).shutdown()
        await coordinator.shutdown()
    }

    @Test("an open stream does not hold up shutdown: it ends when the coordinator drains")
    func endsOnShutdown() async throws {
        let coordinator = try await TestCoordinator()
        let port = coordinator.endpoints.httpPort
        let reader = Task { try await Self.readEvents(port: port, path: "/v1/status/stream") { _ in false } }
        try await Task.sleep(for: .milliseconds(600))
        await coordinator.shutdown()
        let (_, events) = try await reader.value
        #expect(!events.isEmpty, "the stream delivered events, then ended")
    }
}

@Suite("GET /v1/workers: workers with their capacity history", .serialized)
struct WorkersEndpointTests {
    @Test("history shows in-flight steps and a capacity the worker changed at runtime")
    func history() async throws {
        let coordinator = try await TestCoordinator { $0.workerHistoryIntervalMilliseconds = 100 }
        let gate = Gate()
        let function = TetherFunction("held", trigger: .event("job/held")) { (ctx: Context<TenantJob>) in
            try await ctx.step.run("hold") { try await gate.wait() }
        }
        let worker = TestWorker(functions: [function], options: coordinator.workerOptions(instanceId: "historian", capacity: 2))
        let client = try coordinator.client()
        #expect(try await eventually { try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1 })
        let runIds = FlowControlLiveTests.runs(
            try await FlowControlLiveTests.send(client, "job/held", [TenantJob(tenant: "a", n: 0)]))

        func history() async throws -> [JSONValue] {
            try await client.request(.GET, "/v1/workers").json?["workers"]?[0]?["history"]?.arrayValue ?? []
        }
        #expect(try await eventually { try await history().contains { $0["inFlight"]?.int64Value == 1 } })
        worker.worker.setCapacity(5)
        #expect(try await eventually { try await history().last?["capacity"]?.int64Value == 5 })
        let document = try #require(try await client.request(.GET, "/v1/workers").json)
        #expect(document["sampleIntervalMs"]?.int64Value == 100)
        let entry = try #require(document["workers"]?[0])
        #expect(entry["instanceId"]?.stringValue == "historian")
        #expect(entry["functions"]?.arrayValue?.compactMap(\.stringValue) == ["shop:held"])
        #expect(entry["capacity"]?.int64Value == 5)
        let samples = try await history()
        #expect(samples.first?["capacity"]?.int64Value == 2, "older samples keep the capacity they saw")
        gate.release()
        _ = try await client.waitForRuns(runIds)
        await worker.shutdown()
        await coordinator.shutdown()
    }
}
