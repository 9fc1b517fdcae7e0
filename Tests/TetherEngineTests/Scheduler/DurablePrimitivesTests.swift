import Testing

@testable import TetherEngine

/// Sleeps, waits, sends, invokes and parallel steps in the pure engine, with a manual clock.
@Suite("Durable primitives")
struct DurablePrimitivesTests {
    static let second: Int64 = 1_000

    static func first(_ effects: Effects) throws -> StepDispatch {
        try #require(CoreHarness.dispatches(effects).first)
    }

    @Test("a sleeping run holds no slot, fires at its time, and continues with the sleep memoized")
    func sleepFires() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        let start = h.now
        let planned = h.plan(
            dispatch, executed: "prepare",
            [PlannedStep(stepId: "nap", operation: .sleep(durationMilliseconds: 10 * Self.second, untilMilliseconds: 0))])
        #expect(CoreHarness.dispatches(planned).isEmpty)
        let run = try #require(CoreHarness.written(planned, run: dispatch.run.id))
        #expect(run.status == .sleeping)
        #expect(run.steps.map(\.status) == [.completed, .sleeping])
        #expect(run.steps[1].dueAtMilliseconds == start + 10 * Self.second)
        #expect(h.core.workers["c1"]?.inFlight.isEmpty == true, "a sleeping run holds no slot")
        #expect(h.core.nextTimerDeadline == start + 10 * Self.second)

        #expect(CoreHarness.dispatches(h.tick(at: start + 10 * Self.second - 1)).isEmpty)
        let woke = h.tick(at: start + 10 * Self.second)
        let next = try Self.first(woke)
        #expect(next.targetStepId.isEmpty)
        #expect(next.run.steps.map(\.status) == [.completed, .completed])
        #expect(next.run.steps[1].output == Array("null".utf8))
        #expect(CoreHarness.written(woke, run: dispatch.run.id)?.status == .running)
    }

    @Test("sleep until a time in the past completes at once; a negative duration fails the step")
    func sleepEdges() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        let effects = h.plan(
            dispatch,
            [
                PlannedStep(stepId: "past", operation: .sleep(durationMilliseconds: 0, untilMilliseconds: h.now - 5)),
                PlannedStep(stepId: "bad", operation: .sleep(durationMilliseconds: -1, untilMilliseconds: 0)),
            ])
        let next = try Self.first(effects)
        #expect(next.run.steps.map(\.status) == [.completed, .failed])
        #expect(next.run.steps[1].error?.code == "invalid_input")
    }

    @Test("timers survive a restart: a restored core fires them, late ones at once")
    func timersSurviveRestart() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        let planned = h.plan(
            dispatch,
            [
                PlannedStep(stepId: "nap", operation: .sleep(durationMilliseconds: 60 * Self.second, untilMilliseconds: 0)),
                PlannedStep(
                    stepId: "approval",
                    operation: .waitForEvent(event: "order/approved", match: nil, timeoutMilliseconds: 30 * Self.second)),
            ])
        let stored = try #require(CoreHarness.written(planned, run: dispatch.run.id))
        #expect(stored.status == .waiting)

        // A new coordinator, two minutes later: both deadlines have passed.
        var restarted = CoreHarness()
        restarted.now = h.now + 120 * Self.second
        restarted.core.restore(functions: [CoreHarness.orderFunction()], runs: [stored], now: restarted.now)
        _ = try restarted.connect("c2", capacity: 1)
        let fired = restarted.tick(at: restarted.now)
        let next = try Self.first(fired)
        #expect(next.run.steps.map(\.status) == [.completed, .completed])
        #expect(next.run.steps[1].output == Array("null".utf8), "the wait timed out")
        #expect(restarted.core.waitIndex.isEmpty)
    }

    @Test("waitForEvent resumes on the first matching event sent after the wait began, found by index")
    func waitForEventMatches() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let (_, created) = h.core.ingest(
            [IncomingEvent(name: "order/created", data: Array(#"{"orderId":"o-1"}"#.utf8))], now: h.now)
        let dispatch = try Self.first(created)
        // Sent before the wait began: never matches.
        _ = h.core.ingest(
            [IncomingEvent(name: "order/approved", data: Array(#"{"orderId":"o-1","by":"early"}"#.utf8))], now: h.now)
        _ = h.plan(
            dispatch,
            [
                PlannedStep(
                    stepId: "approval",
                    operation: .waitForEvent(
                        event: "order/approved", match: "async.data.orderId == event.data.orderId",
                        timeoutMilliseconds: 3_600 * Self.second))
            ])
        let bucket = try #require(h.core.waitIndex["order/approved"])
        #expect(bucket.unkeyed.isEmpty, "the join makes the wait indexed by value")
        #expect(bucket.keyed[[.key("data"), .key("orderId")]]?[.string("o-1")]?.count == 1)

        let other = h.core.ingest(
            [IncomingEvent(name: "order/approved", data: Array(#"{"orderId":"o-2"}"#.utf8))], now: h.now)
        #expect(CoreHarness.dispatches(other.effects).isEmpty)
        let matching = h.core.ingest(
            [IncomingEvent(name: "order/approved", data: Array(#"{"orderId":"o-1","by":"ann"}"#.utf8))], now: h.now)
        let next = try Self.first(matching.effects)
        let output = try JSONValue(parsing: next.run.steps[0].output)
        #expect(output["name"] == .string("order/approved"))
        #expect(output["data"]?["by"] == .string("ann"))
        #expect(output["id"] == .string(matching.receipts[0].eventId))
        #expect(h.core.waitIndex.isEmpty)
    }

    @Test("an invalid wait expression fails the step with invalid_config")
    func invalidWaitExpression() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        let next = try Self.first(
            h.plan(
                dispatch,
                [
                    PlannedStep(
                        stepId: "w",
                        operation: .waitForEvent(event: "x/y", match: "async.data.id = 1", timeoutMilliseconds: 1_000))
                ]))
        #expect(next.run.steps[0].status == .failed)
        #expect(next.run.steps[0].error?.code == "invalid_config")
        #expect(next.run.steps[0].error?.message.contains("1:15") == true, "the position of the error")
    }

    @Test("sendEvent accepts the events once, memoizes their ids and starts the runs they trigger")
    func sendEvent() throws {
        var h = CoreHarness()
        let shipping = FunctionDefinition(
            app: "shop", slug: "ship", name: "", triggers: [.event(name: "order/paid", expression: nil)])
        _ = try h.connect("c1", capacity: 4, functions: [CoreHarness.orderFunction(), shipping])
        let dispatch = try Self.first(h.send(1).effects)
        let effects = h.plan(
            dispatch,
            [
                PlannedStep(
                    stepId: "notify",
                    operation: .sendEvent([
                        IncomingEvent(name: "order/paid", data: Array(#"{"n":1}"#.utf8)),
                        IncomingEvent(id: "mine", name: "order/paid", data: Array(#"{"n":2}"#.utf8)),
                    ]))
            ])
        let sent = CoreHarness.events(effects)
        #expect(sent.map(\.name) == ["order/paid", "order/paid"])
        #expect(sent[1].id == "mine")
        let run = try #require(CoreHarness.written(effects, run: dispatch.run.id))
        let output = try JSONValue(parsing: run.steps[0].output)
        #expect(output == ["ids": [.string(sent[0].id), "mine"]])
        let dispatched = CoreHarness.dispatches(effects)
        #expect(dispatched.filter { $0.run.functionId == "shop:ship" }.count == 2)
        #expect(dispatched.contains { $0.run.id == dispatch.run.id })

        // The same step reported again (a late duplicate) sends nothing.
        let continuation = try #require(dispatched.first { $0.run.id == dispatch.run.id })
        let again = h.plan(continuation, [PlannedStep(stepId: "notify", operation: .sendEvent([IncomingEvent(name: "order/paid", data: Array("{}".utf8))]))])
        #expect(CoreHarness.events(again).isEmpty)
    }

    @Test("sendEvent with data that is not an object fails the step")
    func sendEventValidation() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        let next = try Self.first(
            h.plan(dispatch, [PlannedStep(stepId: "s", operation: .sendEvent([IncomingEvent(name: "a/b", data: Array("[1]".utf8))]))]))
        #expect(next.run.steps[0].status == .failed)
        #expect(next.run.steps[0].error?.code == "invalid_input")
    }

    @Test("invoke starts a child run; its output resolves the parent's step, its failure fails it")
    func invoke() throws {
        var h = CoreHarness()
        let child = FunctionDefinition(
            app: "shop", slug: "charge", name: "", triggers: [.event(name: "never/sent", expression: nil)], retries: 0)
        _ = try h.connect("c1", capacity: 4, functions: [CoreHarness.orderFunction(), child])
        let (_, sent) = h.send(2)
        let parents = CoreHarness.dispatches(sent)
        #expect(parents.count == 2)

        for (index, parent) in parents.enumerated() {
            let planned = h.plan(
                parent, [PlannedStep(stepId: "pay", operation: .invoke(functionId: "charge", data: Array(#"{"amount":5}"#.utf8)))])
            let parentRun = try #require(CoreHarness.written(planned, run: parent.run.id))
            #expect(parentRun.status == .waiting)
            let childDispatch = try #require(CoreHarness.dispatches(planned).first { $0.run.functionId == "shop:charge" })
            #expect(childDispatch.run.parentRunId == parent.run.id)
            #expect(childDispatch.run.events[0].name == "tether/function.invoked")
            #expect(parentRun.steps[0].childRunId == childDispatch.run.id)

            let outcome: StepOutcome =
                index == 0
                ? .runCompleted(lastStep: nil, output: Array(#"{"chargeId":"ch_1"}"#.utf8))
                : .stepFailed(StepFailure(stepId: "", error: RunError(code: "step_failed", message: "declined"), nonRetriable: true))
            let done = h.answer(childDispatch, outcome)
            let resumed = try #require(CoreHarness.dispatches(done).first { $0.run.id == parent.run.id })
            if index == 0 {
                #expect(resumed.run.steps[0].status == .completed)
                #expect(resumed.run.steps[0].output == Array(#"{"chargeId":"ch_1"}"#.utf8))
            } else {
                #expect(resumed.run.steps[0].status == .failed)
                #expect(resumed.run.steps[0].error?.message.contains("declined") == true)
            }
        }
    }

    @Test("invoking an unknown function fails the step with function_not_found")
    func invokeUnknown() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        let next = try Self.first(
            h.plan(dispatch, [PlannedStep(stepId: "x", operation: .invoke(functionId: "nope", data: Array("{}".utf8)))]))
        #expect(next.run.steps[0].error?.code == "function_not_found")
    }

    @Test("parallel steps go out together to different workers and the run resumes when all are memoized")
    func parallelSteps() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        _ = try h.connect("c2", capacity: 1)
        _ = try h.connect("c3", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        let planned = h.plan(
            dispatch, executed: "a",
            [PlannedStep(stepId: "b", operation: .run), PlannedStep(stepId: "c", operation: .run)])
        let targeted = CoreHarness.dispatches(planned)
        #expect(targeted.map(\.targetStepId).sorted() == ["b", "c"])
        #expect(Set(targeted.map(\.connectionId)).count == 2, "on different workers")
        #expect(targeted.allSatisfy { $0.attempt == 1 })
        let b = try #require(targeted.first { $0.targetStepId == "b" })
        let c = try #require(targeted.first { $0.targetStepId == "c" })

        // b fails once: only b retries, with its own attempt count.
        let failed = h.answer(b, .stepFailed(StepFailure(stepId: "b", error: RunError(code: "step_failed", message: "flaky"))))
        #expect(CoreHarness.dispatches(failed).isEmpty)
        let retried = try Self.first(h.tick(at: try #require(h.core.nextTimerDeadline)))
        #expect(retried.targetStepId == "b")
        #expect(retried.attempt == 2)

        #expect(CoreHarness.dispatches(h.complete(c, step: "c")).isEmpty, "b is still outstanding")
        let resumed = try Self.first(h.complete(retried, step: "b"))
        #expect(resumed.targetStepId.isEmpty)
        #expect(resumed.run.steps.map(\.id) == ["a", "b", "c"])
        #expect(resumed.run.steps.allSatisfy { $0.status == .completed })
        #expect(resumed.run.steps[1].attempts == 2)
        #expect(resumed.run.steps[2].attempts == 1)
    }

    @Test("a parallel step whose worker dies is dispatched again without consuming an attempt")
    func parallelStepWorkerDies() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        _ = try h.connect("c2", capacity: 2)
        let dispatch = try Self.first(h.send(1).effects)
        let targeted = CoreHarness.dispatches(
            h.plan(dispatch, [PlannedStep(stepId: "b", operation: .run), PlannedStep(stepId: "c", operation: .run)]))
        let onC1 = try #require(targeted.first { $0.connectionId == "c1" })
        #expect(CoreHarness.dispatches(h.core.disconnect(connectionId: "c1", now: h.now)).isEmpty)
        // c2 stays alive and keeps its step; c1's lease runs out.
        h.now += Self.second
        _ = h.core.heartbeat(connectionId: "c2", inFlight: targeted.map(\.requestId), now: h.now)
        let again = try Self.first(h.tick(at: onC1.leaseDeadlineMilliseconds))
        #expect(again.targetStepId == onC1.targetStepId)
        #expect(again.attempt == 1)
    }

    @Test("cancelOn cancels a running run on a matching later event, not on its own trigger")
    func cancelOn() throws {
        var h = CoreHarness()
        var function = CoreHarness.orderFunction()
        function.cancelOn = [CancelOnDefinition(event: "order/created", match: "async.data.n == event.data.n")]
        _ = try h.connect("c1", capacity: 0, functions: [function])
        let (receipts, _) = h.send(2)
        let first = receipts[0].runIds[0]
        let second = receipts[1].runIds[0]
        #expect(h.core.runs[first] != nil, "its own trigger does not cancel it")

        let (_, effects) = h.core.ingest([IncomingEvent(name: "order/created", data: Array(#"{"n":0}"#.utf8))], now: h.now)
        let cancelled = try #require(CoreHarness.written(effects, run: first))
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.error?.code == "cancelled")
        #expect(h.core.runs[second] != nil, "a run with another key goes on")
    }

    @Test("cancelling a waiting run removes its wait; a later event finds nothing")
    func cancelRemovesWaits() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try Self.first(h.send(1).effects)
        _ = h.plan(
            dispatch,
            [PlannedStep(stepId: "w", operation: .waitForEvent(event: "x/y", match: nil, timeoutMilliseconds: 60_000))])
        #expect(h.core.waitIndex["x/y"] != nil)
        let cancelled = h.core.cancel(runId: dispatch.run.id, now: h.now)
        #expect(cancelled?.run.status == .cancelled)
        #expect(h.core.waitIndex.isEmpty)
        let (_, effects) = h.core.ingest([IncomingEvent(name: "x/y", data: Array("{}".utf8))], now: h.now)
        #expect(CoreHarness.written(effects, run: dispatch.run.id) == nil)
        #expect(CoreHarness.dispatches(h.tick(at: h.now + 120_000)).isEmpty, "the wait's timer is dropped")
    }

    @Test("timeouts.start cancels a run no worker took; timeouts.finish cancels a run still sleeping")
    func runTimeouts() throws {
        var h = CoreHarness()
        var function = CoreHarness.orderFunction()
        function.timeoutStartMilliseconds = 5 * Self.second
        function.timeoutFinishMilliseconds = 60 * Self.second
        _ = try h.connect("c1", capacity: 0, functions: [function])
        let start = h.now
        let queued = h.send(1).receipts[0].runIds[0]
        let timedOut = h.tick(at: start + 5 * Self.second)
        #expect(CoreHarness.written(timedOut, run: queued)?.error?.code == "run_timed_out")
        #expect(h.core.runs[queued] == nil)

        _ = h.core.updateCapacity(connectionId: "c1", capacity: 1, now: h.now)
        let dispatch = try Self.first(h.send(1).effects)
        _ = h.plan(dispatch, [PlannedStep(stepId: "nap", operation: .sleep(durationMilliseconds: 3_600_000, untilMilliseconds: 0))])
        let finished = h.tick(at: h.now + 60 * Self.second)
        let run = try #require(CoreHarness.written(finished, run: dispatch.run.id))
        #expect(run.status == .cancelled)
        #expect(run.error?.code == "run_timed_out")
    }

    @Test("a failed run emits tether/function.failed, which starts its onFailure function")
    func onFailureEvent() throws {
        var h = CoreHarness()
        let handler = FunctionDefinition(
            app: "shop", slug: "process-order-failure", name: "",
            triggers: [.event(name: "tether/function.failed", expression: #"event.data.function_id == "shop:process-order""#)])
        _ = try h.connect("c1", capacity: 2, functions: [CoreHarness.orderFunction(), handler])
        let dispatch = try Self.first(h.send(1).effects)
        let effects = h.answer(
            dispatch, .stepFailed(StepFailure(stepId: "", error: RunError(code: "boom", message: "it broke"), nonRetriable: true)))
        let started = try #require(CoreHarness.dispatches(effects).first)
        #expect(started.run.functionId == "shop:process-order-failure")
        let data = try JSONValue(parsing: started.run.events[0].data)
        #expect(data["run_id"] == .string(dispatch.run.id))
        #expect(data["event"]?["data"]?["n"] == .int(0))

        // The handler failing does not emit another failure event.
        let again = h.answer(
            started, .stepFailed(StepFailure(stepId: "", error: RunError(code: "boom", message: "x"), nonRetriable: true)))
        #expect(CoreHarness.events(again).isEmpty)
    }

    @Test("an answer to a parallel step's request that is not about that step costs it an attempt, never a hot loop")
    func targetedMismatchCostsAnAttempt() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 4)
        let dispatch = try Self.first(h.send(1).effects)
        let targeted = CoreHarness.dispatches(
            h.plan(dispatch, [PlannedStep(stepId: "b", operation: .run), PlannedStep(stepId: "c", operation: .run)]))
        let b = try #require(targeted.first { $0.targetStepId == "b" })
        // The function threw before it reached "b" (the SDK reports that with an empty step id).
        let threw = h.answer(
            b, .stepFailed(StepFailure(stepId: "", error: RunError(code: "step_failed", message: "boom"))))
        #expect(threw.messages.contains(.resultAck(connectionId: "c1", requestId: b.requestId, accepted: true)))
        #expect(CoreHarness.dispatches(threw).isEmpty, "not sent again at once")
        let run = try #require(CoreHarness.written(threw, run: b.run.id))
        let step = try #require(run.steps.first { $0.id == "b" })
        #expect(step.attempts == 1)
        #expect(step.status == .pending)
        #expect(step.error?.message.contains("boom") == true)
        #expect(step.nextAttemptAtMilliseconds > h.now)
        h.core.checkInvariants()
    }
}
