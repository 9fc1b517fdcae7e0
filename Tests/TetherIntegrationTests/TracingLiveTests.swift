import Foundation
import Testing
import TetherCoordinator
import TetherTelemetry

/// OpenTelemetry over the wire: a coordinator exporting to a real OTLP/HTTP receiver on loopback,
/// a worker process (`TetherTestWorker`) exporting there from the standard `OTEL_*` variables, and
/// a run started by an HTTP request that carries a caller's `traceparent`.
@Suite("Tracing", .serialized)
struct TracingLiveTests {
    @Test("a 3-step run with a sleep and a retry is one trace: events → run → dispatches → worker steps → user span")
    func runIsOneTrace() async throws {
        let receiver = try await OTLPReceiver.start()
        let directory = try TemporaryDirectory("tether-tracing")
        let coordinator = try await TestCoordinator { configuration in
            configuration.tracing = TracingSettings(endpoint: "http://127.0.0.1:\(receiver.port)", serviceName: "tether-test")
        }
        let worker = try ChildProcess(
            "TetherTestWorker", arguments: [],
            environment: [
                "TETHER_COORDINATOR": coordinator.workerAddress, "TETHER_SIGNING_KEY": coordinator.credentials.key.text,
                "TETHER_CA_FILE": coordinator.credentials.tls.caCertificatePath, "TETHER_INSTANCE_ID": "traced-worker",
                "TETHER_MAX_CONCURRENCY": "4", "TETHER_LOG_LEVEL": "info",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)", "OTEL_BSP_SCHEDULE_DELAY": "200",
            ],
            logPath: directory.path + "/worker.log")
        let client = try coordinator.client()
        let connected = try await eventually {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1
        }
        guard connected else { throw TestFailure("the worker did not connect:\n\(worker.log)") }

        // The caller's own trace: the run must join it.
        let callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let callerSpan = "00f067aa0ba902b7"
        let sent = try await HTTPExchange.send(
            port: coordinator.endpoints.httpPort, .POST, "/v1/events",
            body: Array(#"{"name":"test/traced","data":{"n":1}}"#.utf8),
            headers: [("traceparent", "00-\(callerTrace)-\(callerSpan)-01")])
        #expect(sent.status == 200, "\(sent.text)")
        let receipt = try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any]
        let runId = try #require(((receipt?["events"] as? [[String: Any]])?.first?["runs"] as? [String])?.first)
        let run = try await client.waitForRuns([runId], timeout: .seconds(60))[runId]
        #expect(run?["status"]?.stringValue == "completed", "\(String(describing: run))")
        #expect(run?["output"]?["n"]?.int64Value == 31)

        // The coordinator exports every 5 s (the default), the worker every 200 ms.
        let complete = await eventually(timeout: .seconds(30)) {
            let names = Set(receiver.spans.map(\.name))
            return names.isSuperset(of: ["tether.events", "tether.run", "tether.step ship", "reserve-inventory"])
        }
        let spans = receiver.spans
        let listing = spans.map(\.description).joined(separator: "\n")
        #expect(complete, "spans missing; received:\n\(listing)\nworker log:\n\(worker.log)")
        #expect(receiver.problems.isEmpty, "\(receiver.problems)")

        #expect(spans.allSatisfy { $0.traceId == callerTrace }, "every span is in the caller's trace:\n\(listing)")
        let events = try #require(spans.first { $0.name == "tether.events" })
        #expect(events.parentSpanId == callerSpan)
        #expect(events.kind == .server)
        #expect(events.service == "tether-test")
        let runSpan = try #require(spans.first { $0.name == "tether.run" })
        #expect(runSpan.parentSpanId == events.spanId)
        #expect(runSpan.attributes["tether.run.id"] == runId)
        #expect(runSpan.attributes["tether.run.status"] == "completed")
        #expect(!runSpan.isError)

        let dispatches = spans.filter { $0.name.hasPrefix("tether.dispatch") }
        #expect(dispatches.count >= 4, "reserve, charge twice, ship:\n\(listing)")
        #expect(dispatches.allSatisfy { $0.parentSpanId == runSpan.spanId && $0.kind == .producer })
        #expect(dispatches.filter(\.isError).map { $0.attributes["tether.step.id"] } == ["charge"])

        let sleep = try #require(spans.first { $0.name == "tether.sleep cool-off" })
        #expect(sleep.parentSpanId == runSpan.spanId)
        #expect(sleep.endNanoseconds - sleep.startNanoseconds >= 50_000_000, "the sleep lasted its 50 ms")

        let steps = spans.filter { $0.name.hasPrefix("tether.step ") }
        #expect(steps.map(\.name).sorted() == ["tether.step charge", "tether.step charge", "tether.step reserve", "tether.step ship"])
        let dispatchIds = Set(dispatches.map(\.spanId))
        for step in steps {
            #expect(dispatchIds.contains(step.parentSpanId), "\(step) is a child of a dispatch")
            #expect(step.service == "crash-test")
            #expect(step.kind == .consumer)
        }
        let charges = steps.filter { $0.name == "tether.step charge" }.sorted { $0.startNanoseconds < $1.startNanoseconds }
        #expect(charges.map(\.isError) == [true, false], "the first attempt failed, the retry did not")
        #expect(charges.map { $0.attributes["tether.attempt"] } == ["1", "2"])
        // The failed attempt's dispatch is the failed step's parent.
        #expect(dispatches.first(where: \.isError)?.spanId == charges.first?.parentSpanId)

        let reserve = try #require(steps.first { $0.name == "tether.step reserve" })
        let user = try #require(spans.first { $0.name == "reserve-inventory" })
        #expect(user.parentSpanId == reserve.spanId, "the span made by user code is a child of its step")
        #expect(user.attributes["inventory.items"] == "3")

        print("the run's trace, as received:\n\(listing)")
        await worker.stop()
        await coordinator.shutdown()
        await receiver.stop()
    }

    @Test("a malformed, all-zero or oversized traceparent is ignored: the request is served and its span starts a new trace")
    func hostileTraceParent() async throws {
        let receiver = try await OTLPReceiver.start()
        let coordinator = try await TestCoordinator { configuration in
            configuration.tracing = TracingSettings(endpoint: "http://127.0.0.1:\(receiver.port)", serviceName: "tether-test")
        }
        let hostile = [
            "garbage", "00-00000000000000000000000000000000-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" + String(repeating: "x", count: 8_000),
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        ]
        for (index, header) in hostile.enumerated() {
            let sent = try await HTTPExchange.send(
                port: coordinator.endpoints.httpPort, .POST, "/v1/events",
                body: Array(#"{"name":"test/untraced-\#(index)","data":{}}"#.utf8), headers: [("traceparent", header)])
            #expect(sent.status == 200, "\(header.prefix(60)): \(sent.text)")
        }
        let arrived = await eventually(timeout: .seconds(30)) {
            receiver.spans.filter { $0.name == "tether.events" }.count == hostile.count
        }
        let spans = receiver.spans.filter { $0.name == "tether.events" }
        #expect(arrived, "\(receiver.spans)")
        #expect(spans.allSatisfy { $0.parentSpanId.isEmpty }, "no span took a parent from a bad header: \(spans)")
        #expect(Set(spans.map(\.traceId)).count == hostile.count, "each request starts its own trace")
        #expect(!spans.contains { $0.traceId == String(repeating: "0", count: 32) })
        #expect(receiver.problems.isEmpty)
        await coordinator.shutdown()
        await receiver.stop()
    }
}
