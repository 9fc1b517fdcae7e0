import Testing
import TetherStore
import TetherTestSupport

@testable import TetherCoordinator
@testable import TetherEngine

/// The metrics a real scheduler's effects produce, with a manual clock.
@Suite("Coordinator metrics")
struct CoordinatorMetricsTests {
    /// A scheduler with one function (two attempts per step) and the metrics that watch it,
    /// fed the way the runtime feeds them.
    struct Harness {
        var core = CoordinatorCore(seed: 7)
        let metrics = CoordinatorMetrics()
        var now: Int64 = 1_700_000_000_000
        static let function = FunctionDefinition(
            app: "shop", slug: "charge", name: "Charge", triggers: [.event(name: "order/paid", expression: nil)],
            retries: 1)

        var lease: Int64 { Int64(core.configuration.timing.leaseDurationMilliseconds) }

        /// Applies effects as the runtime does once they are durable.
        func observe(_ effects: Effects) -> Effects {
            metrics.observe(effects, leaseDurationMilliseconds: lease)
            return effects
        }

        mutating func connect(_ connectionId: String, capacity: Int) throws -> Effects {
            let effects = core.apply(
                .register(
                    WorkerRegistration(
                        connectionId: connectionId, instanceId: connectionId, app: "shop", capacity: capacity,
                        functions: [Self.function])), now: now)
            if case .rejected(let error) = effects.reply { throw error }
            return observe(effects)
        }

        mutating func send() -> Effects {
            let effects = core.apply(.ingest([IncomingEvent(name: "order/paid", data: Array("{}".utf8))], known: [:]), now: now)
            return observe(effects)
        }

        mutating func answer(_ dispatch: StepDispatch, _ outcome: StepOutcome, requestId: String? = nil) -> Effects {
            let requestId = requestId ?? dispatch.requestId
            let effects = core.apply(
                .result(connectionId: dispatch.connectionId, requestId: requestId, runId: dispatch.run.id, outcome: outcome),
                now: now)
            metrics.recordStepResult(outcome, runId: dispatch.run.id, requestId: requestId, effects: effects)
            return observe(effects)
        }

        mutating func tick(at time: Int64) -> Effects {
            now = time
            let effects = core.apply(.tick, now: now)
            metrics.recordLeaseExpiries(effects.expiredLeases)
            return observe(effects)
        }

        func scrape() -> MetricsText {
            MetricsText(
                metrics.render(
                    CoordinatorMetrics.Scrape(
                        status: core.status(now: now), functionApps: ["shop", "billing"], storeHealthy: true,
                        store: GroupCommitStatistics(), handshakesInProgress: 0, handshakesQueued: 0,
                        handshakesAwaitingClientHello: 0, diskBytes: 4_096,
                        storeMemory: [("memtables", 1_024)])))
        }

        static func dispatch(_ effects: Effects) throws -> StepDispatch {
            try #require(effects.messages.compactMap { if case .dispatch(let d) = $0 { d } else { nil } }.first)
        }
    }

    static func failure(_ stepId: String, nonRetriable: Bool = false) -> StepOutcome {
        .stepFailed(
            StepFailure(stepId: stepId, error: RunError(code: "step_failed", message: "no"), nonRetriable: nonRetriable)
        )
    }

    @Test("step results are classified by what the scheduler did with them; runs are counted by function and status")
    func stepResultsAndRuns() throws {
        var h = Harness()
        _ = try h.connect("c1", capacity: 1)
        var dispatch = try Harness.dispatch(h.send())
        // A retried step, then the same step failing for good, then the function failing.
        _ = h.answer(dispatch, Self.failure("charge"))
        dispatch = try Harness.dispatch(h.tick(at: h.now + 5_000))
        let failedForGood = h.answer(dispatch, Self.failure("charge"))
        let resent = h.answer(dispatch, Self.failure("charge"))
        #expect(resent.writes.isEmpty, "a resend of the last applied result is only acknowledged")
        dispatch = try Harness.dispatch(failedForGood)
        _ = h.answer(dispatch, .stepCompleted(StepCompletion(stepId: "late", output: [])), requestId: "unknown-request")
        _ = h.answer(dispatch, Self.failure("", nonRetriable: true))
        // A second run that completes in two requests.
        dispatch = try Harness.dispatch(h.send())
        dispatch = try Harness.dispatch(
            h.answer(dispatch, .stepCompleted(StepCompletion(stepId: "a", output: Array("1".utf8)))))
        _ = h.answer(dispatch, .runCompleted(lastStep: nil, output: Array("1".utf8)))

        let text = h.scrape()
        let expected: [String: Double] = [
            "retried": 1, "failed": 1, "duplicate": 1, "rejected": 1, "run_failed": 1, "completed": 1,
            "run_completed": 1, "planned": 0,
        ]
        for (outcome, count) in expected {
            #expect(text[#"tether_step_results_total{outcome="\#(outcome)"}"#] == count, "\(outcome)")
        }
        #expect(text[#"tether_runs_created_total{function="shop:charge"}"#] == 2)
        #expect(text[#"tether_runs_finished_total{function="shop:charge",status="failed"}"#] == 1)
        #expect(text[#"tether_runs_finished_total{function="shop:charge",status="completed"}"#] == 1)
        #expect(text["tether_steps_dispatched_total"] == 5)
        #expect(text["tether_lease_expiries_total"] == 0)
    }

    @Test("dispatch latency is a run's creation to its first dispatch, once per run")
    func dispatchLatency() throws {
        var h = Harness()
        _ = try h.connect("c1", capacity: 0)
        _ = h.send()
        h.now += 1_500
        // The run waited 1.5 s for a free slot; its later dispatches are not latency samples.
        let freed = h.core.apply(.updateCapacity(connectionId: "c1", capacity: 1), now: h.now)
        var dispatch = try Harness.dispatch(h.observe(freed))
        h.now += 100
        dispatch = try Harness.dispatch(h.answer(dispatch, .stepCompleted(StepCompletion(stepId: "a", output: []))))
        let text = h.scrape()
        #expect(text["tether_dispatch_latency_seconds_count"] == 1)
        #expect(text[#"tether_dispatch_latency_seconds_bucket{le="1.0"}"#] == 0)
        #expect(text[#"tether_dispatch_latency_seconds_bucket{le="2.5"}"#] == 1)
        #expect(text["tether_dispatch_latency_seconds_sum"] == 1.5)
        #expect(text["tether_steps_dispatched_total"] == 2)
    }

    @Test("a lease that runs out counts, on a live worker or waiting for a dead one to come back")
    func leaseExpiries() throws {
        var h = Harness()
        let start = h.now
        _ = try h.connect("c1", capacity: 1)
        let first = try Harness.dispatch(h.send())
        // The worker stays alive (heartbeats) but never reports the step.
        h.now = start + 10_000
        _ = h.core.apply(.heartbeat(connectionId: "c1", inFlight: []), now: h.now)
        let again = try Harness.dispatch(h.tick(at: start + h.lease))
        #expect(again.run.id == first.run.id)
        #expect(h.scrape()["tether_lease_expiries_total"] == 1)
        // Now the connection goes silent: it is closed, and its lease, which no heartbeat
        // extended, has run out too.
        _ = h.tick(at: h.now + 20_000)
        #expect(h.core.workers.isEmpty)
        #expect(h.scrape()["tether_lease_expiries_total"] == 2)
        // A lease detached from a closed connection runs out when no instance resumes it.
        let third = try Harness.dispatch(h.connect("c2", capacity: 1))
        _ = h.core.apply(.disconnect(connectionId: "c2"), now: h.now)
        _ = h.tick(at: third.leaseDeadlineMilliseconds)
        #expect(h.scrape()["tether_lease_expiries_total"] == 3)
    }

    @Test("gauges come from the scheduler at scrape time, with every app and function listed")
    func gauges() throws {
        var h = Harness()
        _ = try h.connect("c1", capacity: 1)
        _ = h.send()
        h.now += 2_000
        _ = h.send()
        h.now += 500
        let text = h.scrape()
        #expect(text[#"tether_workers_connected{app="shop"}"#] == 1)
        #expect(text[#"tether_workers_connected{app="billing"}"#] == 0, "an app whose workers are gone shows 0")
        #expect(text[#"tether_capacity_slots{app="shop"}"#] == 1)
        #expect(text[#"tether_capacity_in_use_slots{app="shop"}"#] == 1)
        #expect(text[#"tether_queue_depth{function="shop:charge"}"#] == 1)
        #expect(text[#"tether_queue_oldest_age_seconds{function="shop:charge"}"#] == 0.5)
        #expect(text[#"tether_steps_running{function="shop:charge"}"#] == 1)
        #expect(text["tether_runs_active"] == 2)
        #expect(text["tether_store_healthy"] == 1)
    }

    @Test("two coordinators' metrics share nothing")
    func separateRegistries() throws {
        var one = Harness()
        let two = Harness()
        _ = try one.connect("c1", capacity: 1)
        _ = one.send()
        one.metrics.eventsAccepted.increment()
        #expect(one.scrape()["tether_events_accepted_total"] == 1)
        #expect(two.scrape()["tether_events_accepted_total"] == 0)
        #expect(two.scrape()["tether_steps_dispatched_total"] == 0)
    }

    @Test("every family is declared once, named by the conventions, and exported")
    func familiesAreDeclaredAndExported() throws {
        var h = Harness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Harness.dispatch(h.send())
        _ = h.answer(dispatch, .runCompleted(lastStep: nil, output: Array("1".utf8)))
        h.metrics.recordHandshakeRejected(code: "unauthenticated")
        let names = MetricFamily.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(h.scrape().families == Set(names))
        for family in MetricFamily.all {
            #expect(family.name.hasPrefix("tether_"))
            #expect(family.kind != .counter || family.name.hasSuffix("_total"), "\(family.name)")
        }
    }
}
