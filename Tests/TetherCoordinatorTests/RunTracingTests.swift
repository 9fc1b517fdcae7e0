import InMemoryTracing
import Logging
import ServiceLifecycle
import Testing
import TetherEngine
import TetherTelemetry
import Tracing

@testable import TetherCoordinator

/// The coordinator's spans, made from effects as the scheduler commits them, with an in-memory
/// tracer (the wire and the exporter are TracingLiveTests').
@Suite("Run tracing")
struct RunTracingTests {
    struct NoExporter: Service {
        func run() async throws {}
    }

    let tracer = InMemoryTracer()
    var tracing: RunTracing { RunTracing(tracing: TetherTracing(tracer: tracer, exporter: NoExporter(), serviceName: "test")) }

    static func run(_ id: String = "r1", status: RunStatus = .queued, steps: [StepRecord] = [], endedAt: Int64 = 0) -> RunRecord {
        RunRecord(
            id: id, functionId: "shop:order", app: "shop", functionSlug: "order", status: status,
            events: [EventRecord(id: "e1", name: "shop/order", data: Array("{}".utf8), timestampMilliseconds: 1_000)],
            createdAtMilliseconds: 1_000, endedAtMilliseconds: endedAt, maxAttempts: 5, steps: steps)
    }

    static func dispatch(_ requestId: String, run: RunRecord, target: String = "", attempt: Int = 1) -> OutboundMessage {
        .dispatch(
            StepDispatch(
                connectionId: "c1", requestId: requestId, run: run, attempt: attempt, leaseDeadlineMilliseconds: 9_000,
                targetStepId: target))
    }

    func finished(_ name: String) -> [FinishedInMemorySpan] {
        tracer.finishedSpans.filter { $0.operationName == name }
    }

    @Test("a run's span holds its dispatches; a failed result marks its dispatch; the run ends with its status")
    func runAndDispatches() throws {
        let tracing = self.tracing
        let created = Self.run()
        var start = Effects()
        start.writes = [.putRun(created, stepIndices: [], created: true)]
        start.messages = [Self.dispatch("q1", run: created)]
        tracing.observe(&start, now: 1_010)
        guard case .dispatch = start.messages[0] else { Issue.record("the dispatch is still a dispatch"); return }

        tracing.noteResult(
            requestId: "q1",
            outcome: .stepFailed(StepFailure(stepId: "charge", error: RunError(code: "step_failed", message: "declined"))))
        var failed = Effects()
        failed.messages = [.resultAck(connectionId: "c1", requestId: "q1", accepted: true), Self.dispatch("q2", run: created, attempt: 2)]
        tracing.observe(&failed, now: 1_020)

        tracing.noteResult(requestId: "q2", outcome: .runCompleted(lastStep: StepCompletion(stepId: "charge", output: []), output: []))
        var done = Effects()
        let ended = Self.run(status: .completed, endedAt: 1_030)
        done.writes = [.putRun(ended, stepIndices: [], created: false), .deleteLease(runId: "r1", stepId: "")]
        done.messages = [.resultAck(connectionId: "c1", requestId: "q2", accepted: true)]
        done.finishedRuns = ["r1"]
        tracing.observe(&done, now: 1_030)

        let run = try #require(finished("tether.run").first)
        #expect(run.attributes["tether.run.status"]?.toSpanAttribute() == "completed")
        #expect(run.startInstant.millisecondsSinceEpoch == 1_000, "from the run's creation")
        #expect(run.endInstant.millisecondsSinceEpoch == 1_030)
        let dispatches = finished("tether.dispatch")
        #expect(dispatches.count == 2)
        #expect(dispatches.allSatisfy { $0.parentSpanID == run.spanID && $0.traceID == run.traceID })
        #expect(dispatches.map { $0.status?.code } == [.error, nil])
        #expect(dispatches.map { $0.attributes["tether.step.id"]?.toSpanAttribute() } == ["charge", "charge"])
        #expect(tracer.activeSpans.isEmpty)
    }

    @Test("a lease that ends without a result ends its dispatch span in error; a new dispatch of the same step is untouched")
    func expiredLease() throws {
        let tracing = self.tracing
        let created = Self.run()
        var start = Effects()
        start.writes = [.putRun(created, stepIndices: [], created: true)]
        start.messages = [Self.dispatch("q1", run: created, target: "a"), Self.dispatch("q2", run: created, target: "b")]
        tracing.observe(&start, now: 1_010)
        // Step a's lease ran out and went to another worker in the same tick.
        var expired = Effects()
        expired.writes = [.deleteLease(runId: "r1", stepId: "a"), .putLease(LeaseRecord(requestId: "q3", runId: "r1", stepId: "a", instanceId: "w2", app: "shop", dispatchedAtMilliseconds: 5_000))]
        expired.messages = [Self.dispatch("q3", run: created, target: "a")]
        tracing.observe(&expired, now: 5_000)

        let ended = finished("tether.dispatch a")
        #expect(ended.count == 1)
        #expect(ended.first?.status?.code == .error)
        #expect(ended.first?.attributes["tether.request.id"]?.toSpanAttribute() == "q1")
        #expect(Set(tracer.activeSpans.map(\.operationName)) == ["tether.run", "tether.dispatch a", "tether.dispatch b"])
    }

    @Test("sleeps and waits get a span from their stored times, once; stopping ends open spans as interrupted")
    func sleepsWaitsAndStop() throws {
        let tracing = self.tracing
        var start = Effects()
        start.writes = [.putRun(Self.run(), stepIndices: [], created: true)]
        tracing.observe(&start, now: 1_000)
        let sleep = StepRecord(id: "nap", status: .completed, attempts: 0, startedAtMilliseconds: 1_100, endedAtMilliseconds: 1_600, kind: .sleep)
        let wait = StepRecord(
            id: "approval", status: .completed, attempts: 0, output: Array("null".utf8), startedAtMilliseconds: 1_600,
            endedAtMilliseconds: 2_600, kind: .waitForEvent, waitEvent: "shop/approved")
        for _ in 0..<2 {
            var resolved = Effects()
            resolved.writes = [.putRun(Self.run(status: .queued, steps: [sleep, wait]), stepIndices: [0, 1], created: false)]
            tracing.observe(&resolved, now: 2_600)
        }
        let nap = try #require(finished("tether.sleep nap").first)
        #expect(finished("tether.sleep nap").count == 1, "a step written again is not traced again")
        #expect(nap.startInstant.millisecondsSinceEpoch == 1_100 && nap.endInstant.millisecondsSinceEpoch == 1_600)
        let approval = try #require(finished("tether.wait approval").first)
        #expect(approval.attributes["tether.wait.timedOut"]?.toSpanAttribute() == true)

        tracing.endAll(now: 3_000)
        let run = try #require(finished("tether.run").first)
        #expect(run.attributes["tether.run.interrupted"]?.toSpanAttribute() == true)
        #expect(nap.parentSpanID == run.spanID && approval.parentSpanID == run.spanID)
    }

    @Test("a run this process did not start (a restart, a failover) goes on in a resumed run span")
    func resumedRun() throws {
        let tracing = self.tracing
        var effects = Effects()
        effects.messages = [Self.dispatch("q9", run: Self.run())]
        tracing.observe(&effects, now: 7_000)
        tracing.endAll(now: 7_500)
        let run = try #require(finished("tether.run").first)
        #expect(run.attributes["tether.run.resumed"]?.toSpanAttribute() == true)
        #expect(run.startInstant.millisecondsSinceEpoch == 7_000)
        #expect(finished("tether.dispatch").first?.parentSpanID == run.spanID)
    }
}

@Suite("Tracing settings")
struct TracingSettingsTests {
    @Test("off unless an endpoint is configured; OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED turn it off again")
    func onAndOff() throws {
        #expect(try TracingSettings.resolve(serviceName: "tether", environment: [:]) == nil)
        #expect(try TracingSettings.resolve(serviceName: "tether", environment: ["OTEL_SERVICE_NAME": "x"]) == nil)
        let on = try TracingSettings.resolve(
            serviceName: "tether", environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"])
        #expect(on == TracingSettings(endpoint: nil, serviceName: "tether"))
        let named = try TracingSettings.resolve(
            serviceName: "tether",
            environment: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces", "OTEL_SERVICE_NAME": "coord-a"])
        #expect(named?.serviceName == "coord-a")
        #expect(try TracingSettings.resolve(endpoint: "http://c:4318", serviceName: "t", environment: [:])?.endpoint == "http://c:4318")
        for off in [["OTEL_TRACES_EXPORTER": "none"], ["OTEL_SDK_DISABLED": "true"]] {
            #expect(try TracingSettings.resolve(endpoint: "http://c:4318", serviceName: "t", environment: off) == nil)
        }
        #expect(
            try TracingSettings.resolve(
                endpoint: "http://c:4318", serviceName: "t", environment: ["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"]) != nil)
    }

    @Test("what this build cannot do is refused with the variable's name")
    func refusals() {
        let cases: [([String: String], String)] = [
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"], "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "zipkin"], "OTEL_TRACES_EXPORTER=zipkin"),
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"], "OTEL_EXPORTER_OTLP_ENDPOINT \"collector:4318\""),
        ]
        for (environment, expected) in cases {
            #expect {
                _ = try TracingSettings.resolve(serviceName: "t", environment: environment)
            } throws: { error in
                String(describing: error).contains(expected)
            }
        }
    }
}
