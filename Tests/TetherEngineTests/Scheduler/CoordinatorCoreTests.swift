import Testing

@testable import TetherEngine

@Suite("Coordinator core")
struct CoordinatorCoreTests {
    @Test("an event starts a run and dispatches it to the worker")
    func eventStartsRun() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 2)
        let (receipts, effects) = h.send(1)
        #expect(receipts.count == 1)
        #expect(receipts[0].runIds.count == 1)
        let dispatches = CoreHarness.dispatches(effects)
        #expect(dispatches.count == 1)
        #expect(dispatches[0].connectionId == "c1")
        #expect(dispatches[0].attempt == 1)
        #expect(effects.writes.contains { if case .putEvent = $0 { true } else { false } })
        #expect(effects.writes.contains { if case .putRun(_, _, true) = $0 { true } else { false } })
    }

    @Test("an event that matches no function starts nothing but is stored")
    func unmatchedEvent() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 2)
        let (receipts, effects) = h.send(1, name: "user/signup")
        #expect(receipts[0].runIds.isEmpty)
        #expect(effects.writes.count == 1)
    }

    @Test("a run goes step by step to completion and leaves memory")
    func stepByStep() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        var dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        for step in ["reserve", "charge"] {
            let effects = h.core.handleResult(
                connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id,
                outcome: .stepCompleted(StepCompletion(stepId: step, output: Array("1".utf8))), now: h.now)
            #expect(effects.messages.contains(.resultAck(connectionId: "c1", requestId: dispatch.requestId, accepted: true)))
            dispatch = try #require(CoreHarness.dispatches(effects).first)
            #expect(dispatch.run.steps.last?.id == step)
        }
        #expect(dispatch.run.steps.map(\.id) == ["reserve", "charge"])
        let effects = h.core.handleResult(
            connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id,
            outcome: .runCompleted(lastStep: StepCompletion(stepId: "receipt", output: Array("null".utf8)), output: Array(#"{"ok":true}"#.utf8)),
            now: h.now)
        #expect(effects.finishedRuns == [dispatch.run.id])
        guard case .putRun(let run, let indices, false) = effects.writes.last else {
            Issue.record("expected the final run write")
            return
        }
        #expect(run.status == .completed)
        #expect(run.steps.map(\.id) == ["reserve", "charge", "receipt"])
        #expect(indices == [2])
        #expect(h.core.runs.isEmpty)
        #expect(h.core.workers["c1"]?.inFlight.isEmpty == true)
    }

    @Test("never more in flight than a worker's capacity; more capacity gets more steps")
    func capacityRespected() throws {
        var h = CoreHarness()
        _ = try h.connect("small", capacity: 1)
        _ = try h.connect("big", capacity: 3)
        let dispatches = CoreHarness.dispatches(h.send(10).effects)
        #expect(dispatches.count == 4)
        #expect(dispatches.filter { $0.connectionId == "big" }.count == 3)
        #expect(dispatches.filter { $0.connectionId == "small" }.count == 1)
        #expect(h.core.status(now: h.now).queueDepth == 6)
    }

    @Test("a step waits while every worker is full and goes out when a slot frees")
    func waitsForCapacity() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let first = CoreHarness.dispatches(h.send(2).effects)
        #expect(first.count == 1)
        let effects = h.core.handleResult(
            connectionId: "c1", requestId: first[0].requestId, runId: first[0].run.id,
            outcome: .runCompleted(lastStep: nil, output: Array("1".utf8)), now: h.now)
        let next = CoreHarness.dispatches(effects)
        #expect(next.count == 1)
        #expect(next[0].run.id != first[0].run.id)
        #expect(next[0].attempt == 1)
    }

    @Test("a worker that says Goodbye hands its steps to another worker without consuming an attempt")
    func goodbyeRequeues() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        _ = try h.connect("c2", capacity: 1)
        let effects = h.core.goodbye(connectionId: "c1", now: h.now)
        let again = try #require(CoreHarness.dispatches(effects).first)
        #expect(again.connectionId == "c2")
        #expect(again.run.id == first.run.id)
        #expect(again.attempt == 1)
        // The header drops the old lease and takes the new one in a single write.
        let headers = effects.writes.compactMap { if case .putRun(let run, _, _) = $0, run.id == first.run.id { run } else { nil } }
        #expect(headers.map { $0.continuationLease?.requestId } == [again.requestId], "one header write, with the new lease")
        h.core.checkInvariants()
    }

    @Test("a broken connection's steps wait for their worker until the lease runs out, then go elsewhere")
    func disconnectWaitsForResume() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        _ = try h.connect("c2", capacity: 1)
        let effects = h.core.disconnect(connectionId: "c1", now: h.now)
        #expect(CoreHarness.dispatches(effects).isEmpty)
        h.core.checkInvariants()
        #expect(CoreHarness.dispatches(h.tick(at: first.leaseDeadlineMilliseconds - 1)).isEmpty)
        let expired = h.tick(at: first.leaseDeadlineMilliseconds)
        let again = try #require(CoreHarness.dispatches(expired).first)
        #expect(again.connectionId == "c2")
        #expect(again.run.id == first.run.id)
        #expect(again.attempt == 1)
        #expect(expired.expiredLeases == 1)
        h.core.checkInvariants()
    }

    @Test("a reconnecting worker resumes its running step: no second dispatch, and it counts against capacity")
    func reconnectResumesRunningStep() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, instance: "w1")
        let first = try #require(CoreHarness.dispatches(h.send(2).effects).first)
        _ = h.core.disconnect(connectionId: "c1", now: h.now)
        h.now += 500
        let resumed = try h.connect(
            "c1b", capacity: 1, instance: "w1",
            resumed: [ResumedRequest(requestId: first.requestId, runId: first.run.id, resultHeld: false)])
        // The slot is taken by the resumed step: the second run must wait.
        #expect(CoreHarness.dispatches(resumed).isEmpty)
        #expect(h.core.workers["c1b"]?.inFlight == [first.requestId])
        h.core.checkInvariants()
        // The result comes on the new connection and is applied; the next run goes out.
        let done = h.core.handleResult(
            connectionId: "c1b", requestId: first.requestId, runId: first.run.id,
            outcome: .runCompleted(lastStep: nil, output: Array("1".utf8)), now: h.now)
        #expect(done.messages.contains(.resultAck(connectionId: "c1b", requestId: first.requestId, accepted: true)))
        #expect(done.finishedRuns == [first.run.id])
        #expect(CoreHarness.dispatches(done).count == 1)
        h.core.checkInvariants()
    }

    @Test("a held result resent after a reconnect is applied, and its run is not dispatched in between")
    func reconnectHeldResult() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, instance: "w1")
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        _ = try h.connect("c2", capacity: 4)
        _ = h.core.disconnect(connectionId: "c1", now: h.now)
        let welcome = try h.connect(
            "c1b", capacity: 1, instance: "w1",
            resumed: [ResumedRequest(requestId: first.requestId, runId: first.run.id, resultHeld: true)])
        #expect(CoreHarness.dispatches(welcome).isEmpty)
        let late = h.core.handleResult(
            connectionId: "c1b", requestId: first.requestId, runId: first.run.id,
            outcome: .stepCompleted(StepCompletion(stepId: "a", output: Array("1".utf8))), now: h.now)
        #expect(late.messages.contains(.resultAck(connectionId: "c1b", requestId: first.requestId, accepted: true)))
        #expect(CoreHarness.written(late, run: first.run.id)?.steps.map(\.id) == ["a"])
        h.core.checkInvariants()
    }

    @Test("a reconnecting worker that does not list a step has lost it: it goes out again at once")
    func reconnectWithoutStep() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, instance: "w1")
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        _ = h.core.disconnect(connectionId: "c1", now: h.now)
        let effects = try h.connect("c1b", capacity: 1, instance: "w1")
        let again = try #require(CoreHarness.dispatches(effects).first)
        #expect(again.run.id == first.run.id)
        #expect(again.attempt == 1)
        // The header drops the old lease and takes the new one in a single write.
        let headers = effects.writes.compactMap { if case .putRun(let run, _, _) = $0, run.id == first.run.id { run } else { nil } }
        #expect(headers.map { $0.continuationLease?.requestId } == [again.requestId], "one header write, with the new lease")
        h.core.checkInvariants()
    }

    @Test("a resumed step that is no longer leased still uses a slot until the heartbeat stops listing it")
    func unleasedBusy() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, instance: "w1")
        _ = h.send(1)
        let effects = try h.connect(
            "c1b", capacity: 1, instance: "w2",
            resumed: [ResumedRequest(requestId: "gone", runId: "some-run", resultHeld: false)])
        #expect(CoreHarness.dispatches(effects).isEmpty)
        _ = h.send(1)
        #expect(h.core.workers["c1b"]?.free == 0)
        let beat = h.core.heartbeat(connectionId: "c1b", inFlight: [], now: h.now)
        #expect(CoreHarness.dispatches(beat).count == 1)
        h.core.checkInvariants()
    }

    @Test("a result counts only from the lease holder: another app, another instance or another run is refused")
    func resultsOnlyFromLeaseHolder() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, instance: "w1")
        _ = try h.connect("evil", capacity: 0, instance: "x", app: "other")
        _ = try h.connect("c3", capacity: 0, instance: "w3")
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        #expect(first.connectionId == "c1")
        let forged = StepOutcome.runCompleted(lastStep: nil, output: Array(#""forged""#.utf8))
        for (connection, request, run, reason) in [
            ("evil", "made-up", first.run.id, RefusedResult.Reason.noLease),
            ("evil", first.requestId, first.run.id, .notHolder),
            ("c3", first.requestId, first.run.id, .notHolder),
            ("c1", first.requestId, "another-run", .runMismatch),
        ] {
            let effects = h.core.handleResult(connectionId: connection, requestId: request, runId: run, outcome: forged, now: h.now)
            #expect(effects.messages == [.resultAck(connectionId: connection, requestId: request, accepted: false)])
            #expect(effects.refusedResults == [RefusedResult(connectionId: connection, requestId: request, reason: reason)])
            #expect(effects.writes.isEmpty)
            #expect(h.core.runs[first.run.id]?.status == .running)
            h.core.checkInvariants()
        }
        // The holder's own result still counts.
        let real = h.complete(first, step: "a")
        #expect(real.messages.contains(.resultAck(connectionId: "c1", requestId: first.requestId, accepted: true)))
    }

    @Test("after a restart, a step that was out waits for its worker for the grace, then goes out")
    func restoredLeaseGrace() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, instance: "w1")
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let run = try #require(h.core.runs[first.run.id])
        var restarted = CoreHarness()
        restarted.now = h.now + 1_000
        restarted.core.restore(
            functions: [CoreHarness.orderFunction()], runs: [run],
            leases: [
                LeaseRecord(
                    requestId: first.requestId, runId: run.id, stepId: "", instanceId: "w1", app: "shop",
                    dispatchedAtMilliseconds: h.now)
            ], now: restarted.now)
        restarted.core.checkInvariants()
        #expect(CoreHarness.dispatches(try restarted.connect("other", capacity: 4)).isEmpty)
        let grace = Int64(restarted.core.configuration.timing.resumeGraceMilliseconds)
        #expect(CoreHarness.dispatches(restarted.tick(at: restarted.now + grace - 1)).isEmpty)
        let again = try #require(CoreHarness.dispatches(restarted.tick(at: restarted.now + 1)).first)
        #expect(again.run.id == run.id)
        #expect(again.connectionId == "other")
        restarted.core.checkInvariants()
    }

    @Test("after a restart, the worker that ran a step resumes it and its result is applied")
    func restoredLeaseResumed() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, instance: "w1")
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let run = try #require(h.core.runs[first.run.id])
        #expect(run.status == .running)
        var restarted = CoreHarness()
        restarted.core.restore(
            functions: [CoreHarness.orderFunction()], runs: [run],
            leases: [
                LeaseRecord(
                    requestId: first.requestId, runId: run.id, stepId: "", instanceId: "w1", app: "shop",
                    dispatchedAtMilliseconds: h.now)
            ], now: restarted.now)
        _ = try restarted.connect("other", capacity: 4)
        let welcome = try restarted.connect(
            "c1b", capacity: 1, instance: "w1",
            resumed: [ResumedRequest(requestId: first.requestId, runId: run.id, resultHeld: true)])
        #expect(CoreHarness.dispatches(welcome).isEmpty)
        let result = restarted.core.handleResult(
            connectionId: "c1b", requestId: first.requestId, runId: run.id,
            outcome: .stepCompleted(StepCompletion(stepId: "a", output: Array("1".utf8))), now: restarted.now)
        #expect(result.messages.contains(.resultAck(connectionId: "c1b", requestId: first.requestId, accepted: true)))
        let next = try #require(CoreHarness.dispatches(result).first)
        #expect(next.run.steps.map(\.id) == ["a"])
        restarted.core.checkInvariants()
    }

    @Test("a run dispatched before a restart is restored as started at its dispatch, from its lease")
    func dispatchStoresStart() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let effects = h.send(1).effects
        let dispatch = try #require(CoreHarness.dispatches(effects).first)
        let stored = try #require(CoreHarness.written(effects, run: dispatch.run.id))
        #expect(stored.continuationLease?.requestId == dispatch.requestId, "the lease is in the run's header")
        var restarted = CoreHarness()
        restarted.now = h.now + 5_000
        restarted.core.restore(functions: [CoreHarness.orderFunction()], runs: [stored], now: restarted.now)
        #expect(restarted.core.leases[dispatch.requestId]?.connectionId == "", "detached, waiting for its worker")
        let run = try #require(restarted.core.runs[dispatch.run.id])
        #expect(run.status == .running)
        #expect(run.startedAtMilliseconds == h.now)
        restarted.core.checkInvariants()
    }

    @Test("a continuation's lease is written with the run's header: an applied result's commit clears it, the next request sets it, in one header write")
    func continuationLeaseInHeader() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let sent = h.send(1).effects
        let first = try #require(CoreHarness.dispatches(sent).first)
        #expect(!sent.writes.contains { if case .putLease = $0 { true } else { false } }, "no lease record of its own")
        #expect(CoreHarness.written(sent, run: first.run.id)?.continuationLease?.requestId == first.requestId)

        let answered = h.complete(first, step: "a")
        let second = try #require(CoreHarness.dispatches(answered).first)
        let headers = answered.writes.compactMap { if case .putRun(let run, _, _) = $0, run.id == first.run.id { run } else { nil } }
        #expect(headers.last?.continuationLease?.requestId == second.requestId)
        #expect(headers.last?.lastRequestId == first.requestId)
        // The result and the next request share one header write (`Effects.putHeader`; the
        // store also writes only the last of several, CoordinatorStoreLeaseTests).
        #expect(headers.count == 1)

        // A restart from the written header: the lease waits for its worker, detached.
        var restarted = CoreHarness()
        restarted.now = h.now + 1_000
        restarted.core.restore(functions: [CoreHarness.orderFunction()], runs: [try #require(headers.last)], now: restarted.now)
        #expect(restarted.core.leases[second.requestId]?.connectionId == "")
        #expect(restarted.core.runs[first.run.id]?.continuationLease?.requestId == second.requestId)
        restarted.core.checkInvariants()
    }

    @Test("a stale continuation lease record of an earlier build (its result applied) is dropped at restore")
    func staleLegacyLeaseRecord() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        _ = h.core.pause(connectionId: "c1", now: h.now)
        let answered = h.complete(first, step: "a")
        let stored = try #require(CoreHarness.written(answered, run: first.run.id))
        let legacy = LeaseRecord(
            requestId: first.requestId, runId: first.run.id, stepId: "", instanceId: "instance-c1", app: "shop",
            dispatchedAtMilliseconds: h.now)
        var restarted = CoreHarness()
        restarted.now = h.now + 1_000
        let cleanup = restarted.core.restore(
            functions: [CoreHarness.orderFunction()], runs: [stored], leases: [legacy], now: restarted.now)
        #expect(cleanup.writes.contains(.deleteLease(runId: first.run.id, stepId: "")))
        #expect(restarted.core.leases.count == 0)
        let again = try #require(CoreHarness.dispatches(try restarted.connect("c2", capacity: 1)).first)
        #expect(again.run.steps.map(\.id) == ["a"])
        restarted.core.checkInvariants()
    }

    @Test("a duplicate step result is not applied twice")
    func duplicateStep() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let second = try #require(
            CoreHarness.dispatches(
                h.core.handleResult(
                    connectionId: "c1", requestId: first.requestId, runId: first.run.id,
                    outcome: .stepCompleted(StepCompletion(stepId: "a", output: Array("1".utf8))), now: h.now)
            ).first)
        // The same request id again: acknowledged (it is durable) but not applied again.
        let again = h.core.handleResult(
            connectionId: "c1", requestId: first.requestId, runId: first.run.id,
            outcome: .stepCompleted(StepCompletion(stepId: "a", output: Array("1".utf8))), now: h.now)
        #expect(again.messages == [.resultAck(connectionId: "c1", requestId: first.requestId, accepted: true)])
        #expect(again.writes.isEmpty)
        // Another request reporting the same step (a non-deterministic function): refused.
        let other = h.core.handleResult(
            connectionId: "c1", requestId: second.requestId, runId: first.run.id,
            outcome: .stepCompleted(StepCompletion(stepId: "a", output: Array("1".utf8))), now: h.now)
        #expect(other.messages.contains(.resultAck(connectionId: "c1", requestId: second.requestId, accepted: false)))
        #expect(h.core.runs[first.run.id]?.steps.count == 1)
        #expect(h.core.leases[second.requestId] == nil)
        #expect(h.core.leases.all.filter { $0.runId == first.run.id }.count == 1, "the run is dispatched again")
    }

    @Test("failed steps retry with backoff; after the last attempt the step is memoized as failed for the function to handle")
    func retriesThenFails() throws {
        var h = CoreHarness(configuration: .init(retry: RetryPolicy(baseDelayMilliseconds: 1_000, maxDelayMilliseconds: 10_000)))
        _ = try h.connect("c1", capacity: 1, functions: [CoreHarness.orderFunction(retries: 2)])
        var dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        for attempt in 1...3 {
            #expect(dispatch.attempt == attempt)
            let failure = StepFailure(stepId: "charge", error: RunError(code: "step_failed", message: "card declined \(attempt)"))
            let effects = h.core.handleResult(
                connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id,
                outcome: .stepFailed(failure), now: h.now)
            if attempt < 3 {
                #expect(CoreHarness.dispatches(effects).isEmpty, "no retry before the backoff")
                let due = try #require(h.core.nextTimerDeadline)
                #expect(due > h.now)
                h.now = due
                dispatch = try #require(CoreHarness.dispatches(h.core.tick(now: h.now)).first)
                #expect(dispatch.run.steps.first?.status == .retrying)
                #expect(dispatch.run.steps.first?.attempts == attempt)
            } else {
                // The last attempt failed: the step is failed and the function runs once more to see it.
                dispatch = try #require(CoreHarness.dispatches(effects).first)
                #expect(dispatch.run.steps.first?.status == .failed)
                #expect(dispatch.run.steps.first?.attempts == 3)
                #expect(dispatch.attempt == 1)
            }
        }
        // The function does not catch the step's error: the SDK reports it non-retriable without a step id.
        let uncaught = StepFailure(
            stepId: "", error: RunError(code: "step_failed", message: "card declined 3"), nonRetriable: true)
        let effects = h.core.handleResult(
            connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id, outcome: .stepFailed(uncaught),
            now: h.now)
        let run = try #require(CoreHarness.written(effects, run: dispatch.run.id))
        #expect(run.status == .failed)
        #expect(run.error?.message == "card declined 3")
        // The failure is announced for `onFailure` handlers.
        guard case .putEvent(let failed, _, _) = effects.writes.last else {
            Issue.record("expected the failure event")
            return
        }
        #expect(failed.name == "tether/function.failed")
        let data = try JSONValue(parsing: failed.data)
        #expect(data["run_id"] == .string(run.id))
        #expect(data["error"]?["message"] == .string("card declined 3"))
        #expect(run.steps.first?.status == .failed)
    }

    @Test("a failed step the function catches lets the run go on")
    func caughtStepFailure() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1, functions: [CoreHarness.orderFunction(retries: 0)])
        var dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        dispatch = try #require(
            CoreHarness.dispatches(
                h.core.handleResult(
                    connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id,
                    outcome: .stepFailed(StepFailure(stepId: "charge", error: RunError(code: "step_failed", message: "no"))),
                    now: h.now)
            ).first)
        let effects = h.core.handleResult(
            connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id,
            outcome: .runCompleted(lastStep: StepCompletion(stepId: "refund", output: Array("1".utf8)), output: Array("2".utf8)),
            now: h.now)
        guard case .putRun(let run, _, false) = effects.writes.last else {
            Issue.record("expected a run write")
            return
        }
        #expect(run.status == .completed)
        #expect(run.steps.map(\.status) == [.failed, .completed])
    }

    @Test("a result resent after a reconnect is acknowledged without being applied twice")
    func resentFailureCountsOnce() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let failure = StepOutcome.stepFailed(StepFailure(stepId: "charge", error: RunError(code: "step_failed", message: "x")))
        _ = h.core.handleResult(connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id, outcome: failure, now: h.now)
        #expect(h.core.runs[dispatch.run.id]?.attempt == 1)
        _ = h.core.disconnect(connectionId: "c1", now: h.now)
        _ = try h.connect("c1b", capacity: 1)
        let again = h.core.handleResult(
            connectionId: "c1b", requestId: dispatch.requestId, runId: dispatch.run.id, outcome: failure, now: h.now)
        #expect(again.messages == [.resultAck(connectionId: "c1b", requestId: dispatch.requestId, accepted: true)])
        #expect(again.writes.isEmpty)
        #expect(h.core.runs[dispatch.run.id]?.attempt == 1)
    }

    @Test("a non-retriable failure uses no retries: the step fails at once, and a function failure ends the run")
    func nonRetriable() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        var dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        var effects = h.core.handleResult(
            connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id,
            outcome: .stepFailed(StepFailure(stepId: "x", error: RunError(code: "bad", message: "no"), nonRetriable: true)),
            now: h.now)
        dispatch = try #require(CoreHarness.dispatches(effects).first)
        #expect(dispatch.run.steps.first?.status == .failed)
        #expect(dispatch.run.steps.first?.attempts == 1)
        effects = h.core.handleResult(
            connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id,
            outcome: .stepFailed(StepFailure(stepId: "", error: RunError(code: "bad", message: "no"), nonRetriable: true)),
            now: h.now)
        #expect(effects.finishedRuns == [dispatch.run.id])
    }

    @Test("a silent connection is closed after three intervals and its lease re-queued")
    func heartbeatTimeout() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        _ = try h.connect("c2", capacity: 1)
        let dispatches = CoreHarness.dispatches(h.send(2).effects)
        #expect(dispatches.count == 2)
        let interval = Int64(h.core.configuration.timing.heartbeatIntervalMilliseconds)
        h.now += interval * 2
        _ = h.core.heartbeat(connectionId: "c2", inFlight: dispatches.filter { $0.connectionId == "c2" }.map(\.requestId), now: h.now)
        h.now += interval + 1
        let effects = h.core.tick(now: h.now)
        #expect(effects.closes.map(\.connectionId) == ["c1"])
        #expect(h.core.workers["c1"] == nil)
        // c1's lease, which no heartbeat extended, has run out too: as c2 is full, the run
        // waits in the queue.
        #expect(h.core.status(now: h.now).queueDepth == 1)
        h.core.checkInvariants()
    }

    @Test("an expired lease re-queues the step")
    func leaseExpiry() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let first = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        // Heartbeats keep the connection alive but do not list the request.
        let lease = Int64(h.core.configuration.timing.leaseDurationMilliseconds)
        var now = h.now
        while now < first.leaseDeadlineMilliseconds {
            now += 1_000
            _ = h.core.heartbeat(connectionId: "c1", inFlight: [], now: now)
        }
        let effects = h.core.tick(now: now)
        let again = try #require(CoreHarness.dispatches(effects).first)
        #expect(again.run.id == first.run.id)
        #expect(again.attempt == 1)
        #expect(again.leaseDeadlineMilliseconds == now + lease)
    }

    @Test("invalid function configuration is refused with invalid_config naming the function")
    func invalidConfig() {
        var h = CoreHarness()
        let bad = FunctionDefinition(app: "shop", slug: "broken", name: "", triggers: [.event(name: "", expression: nil)])
        #expect {
            _ = try h.connect("c1", capacity: 1, functions: [bad])
        } throws: { error in
            guard let error = error as? TetherError else { return false }
            return error.code == .invalidConfig && error.message.contains("broken")
        }
        #expect(h.core.workers.isEmpty)
        #expect(h.core.functionDefinitions.isEmpty)
    }

    @Test("duplicate event ids start nothing new")
    func duplicateEventId() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let event = IncomingEvent(id: "evt-1", name: "order/created", data: Array("{}".utf8))
        let first = h.core.ingest([event], now: h.now)
        let second = h.core.ingest([event], now: h.now)
        #expect(second.receipts[0].duplicate)
        #expect(second.receipts[0].runIds == first.receipts[0].runIds)
        #expect(second.effects.writes.isEmpty)
    }

    @Test("restored runs are dispatched again; their memoized steps travel with them")
    func restore() throws {
        var h = CoreHarness()
        let function = CoreHarness.orderFunction()
        let run = RunRecord(
            id: "01RUN", functionId: function.id, app: "shop", functionSlug: function.slug, status: .running,
            events: [EventRecord(id: "e", name: "order/created", data: Array("{}".utf8), timestampMilliseconds: 1)],
            createdAtMilliseconds: 1, maxAttempts: 5,
            steps: [StepRecord(id: "reserve", status: .completed, attempts: 1, output: Array("1".utf8))])
        h.core.restore(functions: [function], runs: [run], now: h.now)
        let dispatch = try #require(CoreHarness.dispatches(try h.connect("c1", capacity: 1)).first)
        #expect(dispatch.run.id == "01RUN")
        #expect(dispatch.run.steps.map(\.id) == ["reserve"])
    }

    @Test("prefix triggers match every event with the prefix")
    func prefixTrigger() throws {
        var h = CoreHarness()
        let function = FunctionDefinition(app: "shop", slug: "audit", name: "", triggers: [.event(name: "order/*", expression: nil)])
        _ = try h.connect("c1", capacity: 5, functions: [function, CoreHarness.orderFunction()])
        let (receipts, _) = h.send(1)
        #expect(receipts[0].runIds.count == 2)
        #expect(h.send(1, name: "order.other").receipts[0].runIds.isEmpty)
    }
}

@Suite("Trigger expressions")
struct TriggerExpressionTests {
    @Test("an event trigger's if expression filters the events that start runs")
    func ifExpression() throws {
        var h = CoreHarness()
        let bigOrders = FunctionDefinition(
            app: "shop", slug: "big-orders", name: "",
            triggers: [.event(name: "order/created", expression: "event.data.amount >= 1000 && event.name == 'order/created'")])
        _ = try h.connect("c1", capacity: 5, functions: [bigOrders])
        let small = h.core.ingest([IncomingEvent(name: "order/created", data: Array(#"{"amount":5}"#.utf8))], now: h.now)
        #expect(small.receipts[0].runIds.isEmpty)
        let big = h.core.ingest([IncomingEvent(name: "order/created", data: Array(#"{"amount":5000}"#.utf8))], now: h.now)
        #expect(big.receipts[0].runIds.count == 1)
    }

    @Test("several triggers: any one matching starts one run")
    func severalTriggers() throws {
        var h = CoreHarness()
        let function = FunctionDefinition(
            app: "shop", slug: "notify", name: "",
            triggers: [
                .event(name: "order/created", expression: "event.data.vip == true"),
                .event(name: "order/*", expression: nil),
            ])
        _ = try h.connect("c1", capacity: 5, functions: [function])
        let vip = h.core.ingest([IncomingEvent(name: "order/created", data: Array(#"{"vip":true}"#.utf8))], now: h.now)
        #expect(vip.receipts[0].runIds.count == 1)
        let other = h.core.ingest([IncomingEvent(name: "order/cancelled", data: Array("{}".utf8))], now: h.now)
        #expect(other.receipts[0].runIds.count == 1)
    }

    @Test("an invalid if expression is refused at registration with its position")
    func invalidExpression() {
        var h = CoreHarness()
        let function = FunctionDefinition(
            app: "shop", slug: "bad-if", name: "", triggers: [.event(name: "order/created", expression: "event.data.x = 1")])
        #expect {
            _ = try h.connect("c1", capacity: 1, functions: [function])
        } throws: { error in
            guard let error = error as? TetherError else { return false }
            return error.code == .invalidConfig && error.message.contains("bad-if") && error.message.contains("1:")
        }
    }
}

@Suite("Run limits")
struct RunLimitTests {
    static func harness() -> CoreHarness {
        var limits = Limits()
        limits.maxStepOutputBytes = 100
        limits.maxRunStateBytes = 400
        limits.maxStepsPerRun = 3
        return CoreHarness(configuration: .init(limits: limits))
    }

    mutating func complete(_ h: inout CoreHarness, _ dispatch: StepDispatch, step: String, bytes: Int) -> Effects {
        h.core.handleResult(
            connectionId: dispatch.connectionId, requestId: dispatch.requestId, runId: dispatch.run.id,
            outcome: .stepCompleted(StepCompletion(stepId: step, output: Array(repeating: 0x31, count: bytes))), now: h.now)
    }

    static func failure(_ effects: Effects) -> RunError? {
        // The run's own write; a failed run also emits `tether/function.failed` after it.
        for case .putRun(let run, _, false) in effects.writes where run.status == .failed {
            return run.error
        }
        return nil
    }

    @Test("a step output over the limit fails the run with output_too_large")
    mutating func outputTooLarge() throws {
        var h = Self.harness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let effects = complete(&h, dispatch, step: "big", bytes: 101)
        #expect(Self.failure(effects)?.code == "output_too_large")
    }

    @Test("steps that together pass the run state limit fail the run with run_state_too_large")
    mutating func runStateTooLarge() throws {
        var h = Self.harness()
        _ = try h.connect("c1", capacity: 1)
        var dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        for step in ["a", "b"] {
            dispatch = try #require(CoreHarness.dispatches(complete(&h, dispatch, step: step, bytes: 100)).first)
        }
        #expect(Self.failure(complete(&h, dispatch, step: "c", bytes: 100))?.code == "run_state_too_large")
    }

    @Test("a run past the step limit fails with too_many_steps")
    mutating func tooManySteps() throws {
        var h = Self.harness()
        _ = try h.connect("c1", capacity: 1)
        var dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        for step in ["a", "b", "c"] {
            dispatch = try #require(CoreHarness.dispatches(complete(&h, dispatch, step: step, bytes: 1)).first)
        }
        #expect(Self.failure(complete(&h, dispatch, step: "d", bytes: 1))?.code == "too_many_steps")
    }
}

@Suite("Cancellation")
struct CancellationTests {
    @Test("a cancelled queued run is never dispatched")
    func queuedRun() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 0)
        let sent = h.send(1)
        let runId = try #require(sent.receipts.first?.runIds.first)
        let cancelled = h.core.cancel(runId: runId, now: h.now)
        let (run, effects) = try #require(cancelled)
        #expect(run.status == .cancelled)
        #expect(effects.finishedRuns == [runId])
        let opened = h.core.updateCapacity(connectionId: "c1", capacity: 1, now: h.now)
        #expect(CoreHarness.dispatches(opened).isEmpty)
        let again = h.core.cancel(runId: runId, now: h.now)
        #expect(again == nil, "already ended")
    }

    @Test("a run cancelled mid-step keeps the worker's slot until the step returns; its result is not used")
    func runningRun() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let first = try #require(CoreHarness.dispatches(h.send(2).effects).first)
        let cancelled = h.core.cancel(runId: first.run.id, now: h.now)
        #expect(cancelled?.run.status == .cancelled)
        #expect(h.core.workers["c1"]?.free == 0, "the worker is still running the step")
        let effects = h.core.handleResult(
            connectionId: "c1", requestId: first.requestId, runId: first.run.id,
            outcome: .stepCompleted(StepCompletion(stepId: "a", output: Array("1".utf8))), now: h.now)
        #expect(effects.messages.contains(.resultAck(connectionId: "c1", requestId: first.requestId, accepted: false)))
        #expect(CoreHarness.written(effects, run: first.run.id) == nil, "the ended run is not written again")
        // The freed slot goes to the other run.
        let next = try #require(CoreHarness.dispatches(effects).first)
        #expect(next.run.id != first.run.id)
    }

    @Test("a worker's retry-after time is capped at the longest durable timer, never forever")
    func retryAfterCapped() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let failure = StepFailure(
            stepId: "x", error: RunError(code: "step_failed", message: "later"), retryAtMilliseconds: .max)
        let effects = h.answer(dispatch, .stepFailed(failure))
        let run = try #require(CoreHarness.written(effects, run: dispatch.run.id))
        #expect(run.nextAttemptAtMilliseconds == h.now + h.core.configuration.limits.maxSleepMilliseconds)
        h.core.checkInvariants()
    }
}
