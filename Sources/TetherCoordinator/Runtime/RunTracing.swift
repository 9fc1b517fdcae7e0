import TetherEngine
import TetherTelemetry
import Tracing

/// The coordinator's spans, made from what the scheduler committed: a run (from its creation to
/// its end), each step request it dispatched (from dispatch to its result being durable, or its
/// lease running out), and each sleep and wait (post hoc, from their stored times). Every span
/// of a run is in the trace of the event that started it (``EventRecord/traceParent``, stored
/// with the event), and a dispatch carries its span's `traceparent` to the worker, whose step
/// span is its child.
///
/// A run's span lives in memory while the run is active. When the coordinator stops, open run
/// spans end with `tether.run.interrupted`; after a restart (or a failover) the run goes on in
/// a new run span, `tether.run.resumed`, in the same trace.
///
/// Confined to the scheduler's loop, like ``CoordinatorRuntime``'s state.
final class RunTracing {
    let tracing: TetherTracing
    private var tracer: any Tracer { tracing.tracer }
    private var runs: [String: RunSpan] = [:]
    private var dispatches: [String: DispatchSpan] = [:]

    private struct RunSpan {
        var span: any Span
        /// Open dispatches of the run, by request id.
        var requests: Set<String> = []
        /// Sleeps and waits already given a span.
        var tracedSteps: Set<String> = []
    }

    private struct DispatchSpan {
        var span: any Span
        var runId: String
        /// The lease's step: the target step, or empty for the run's continuation.
        var stepKey: String
    }

    init(tracing: TetherTracing) {
        self.tracing = tracing
    }

    /// Starts and ends the spans of committed `effects`, and stamps each dispatch with its
    /// span's `traceparent`. Called once per effects, after its writes are durable.
    func observe(_ effects: inout Effects, now: Int64) {
        var latest: [String: RunRecord] = [:]
        var deletedLeases: [(runId: String, stepKey: String)] = []
        for write in effects.writes {
            switch write {
            case .putRun(let run, let stepIndices, let created):
                latest[run.id] = run
                if created { startRun(run) }
                for index in stepIndices where run.steps.indices.contains(index) {
                    traceTimedStep(run.steps[index], of: run, now: now)
                }
            case .deleteLease(let runId, let stepId):
                deletedLeases.append((runId, stepId))
            default:
                break
            }
        }
        for message in effects.messages {
            if case .resultAck(_, let requestId, let accepted) = message {
                endDispatch(requestId, accepted: accepted, now: now)
            }
        }
        // A lease gone without an answer: it ran out, or its worker handed it back.
        for (runId, stepKey) in deletedLeases {
            guard let requests = runs[runId]?.requests else { continue }
            for requestId in requests where dispatches[requestId]?.stepKey == stepKey {
                dispatches[requestId]?.span.attributes["tether.lease.ended"] = "without a result"
                endDispatch(requestId, accepted: nil, now: now)
            }
        }
        for index in effects.messages.indices {
            guard case .dispatch(var dispatch) = effects.messages[index] else { continue }
            dispatch.traceParent = startDispatch(dispatch, now: now)
            effects.messages[index] = .dispatch(dispatch)
        }
        for runId in effects.finishedRuns {
            endRun(runId, record: latest[runId], now: now)
        }
    }

    /// Notes what a worker answered on the request's span (its end comes with the ack).
    func noteResult(requestId: String, outcome: StepOutcome) {
        guard let span = dispatches[requestId]?.span else { return }
        switch outcome {
        case .stepCompleted(let completion):
            span.attributes["tether.step.id"] = completion.stepId
        case .runCompleted(let lastStep, _):
            if let lastStep { span.attributes["tether.step.id"] = lastStep.stepId }
            span.attributes["tether.outcome"] = "run_completed"
        case .stepFailed(let failure):
            if !failure.stepId.isEmpty { span.attributes["tether.step.id"] = failure.stepId }
            span.attributes["tether.error.code"] = failure.error.code
            span.attributes["tether.outcome"] = "step_failed"
            span.setStatus(SpanStatus(code: .error, message: failure.error.message))
        case .stepsPlanned(let executed, let steps):
            if let executed { span.attributes["tether.step.id"] = executed.stepId }
            span.attributes["tether.steps.planned"] = steps.count
        }
    }

    /// Ends every open span, marked interrupted: the coordinator is stopping.
    func endAll(now: Int64) {
        let at = DefaultTracerClock.Instant(unixMilliseconds: now)
        for (_, dispatch) in dispatches {
            dispatch.span.attributes["tether.interrupted"] = true
            dispatch.span.end(at: at)
        }
        for (_, run) in runs {
            run.span.attributes["tether.run.interrupted"] = true
            run.span.end(at: at)
        }
        dispatches.removeAll()
        runs.removeAll()
    }

    // MARK: Runs

    private func startRun(_ run: RunRecord, resumedAt: Int64? = nil) {
        let parent: ServiceContext
        if !run.parentRunId.isEmpty, let invoker = runs[run.parentRunId] {
            parent = invoker.span.context
        } else {
            parent = tracing.context(traceParent: run.events.first?.traceParent ?? "")
        }
        let span = tracer.startSpan(
            "tether.run", context: parent, ofKind: .internal,
            at: DefaultTracerClock.Instant(unixMilliseconds: resumedAt ?? run.createdAtMilliseconds))
        span.updateAttributes { attributes in
            attributes["tether.run.id"] = run.id
            attributes["tether.function.id"] = run.functionId
            attributes["tether.app"] = run.app
            if let event = run.events.first { attributes["tether.event.name"] = event.name }
            if !run.parentRunId.isEmpty { attributes["tether.run.parent"] = run.parentRunId }
            if resumedAt != nil { attributes["tether.run.resumed"] = true }
        }
        runs[run.id] = RunSpan(span: span)
    }

    /// The run's span, started as resumed when this process has none (after a restart).
    private func runSpan(_ run: RunRecord, now: Int64) -> RunSpan {
        if let existing = runs[run.id] { return existing }
        startRun(run, resumedAt: now)
        return runs[run.id]!
    }

    private func endRun(_ runId: String, record: RunRecord?, now: Int64) {
        guard let run = runs.removeValue(forKey: runId) else { return }
        for requestId in run.requests {
            dispatches.removeValue(forKey: requestId)?.span.end(at: DefaultTracerClock.Instant(unixMilliseconds: now))
        }
        if let record {
            run.span.attributes["tether.run.status"] = record.status.rawValue
            if record.status == .failed {
                run.span.setStatus(SpanStatus(code: .error, message: record.error?.message))
                if let error = record.error { run.span.attributes["tether.error.code"] = error.code }
            }
        }
        let endedAt = record.map { $0.endedAtMilliseconds > 0 ? $0.endedAtMilliseconds : now } ?? now
        run.span.end(at: DefaultTracerClock.Instant(unixMilliseconds: endedAt))
    }

    // MARK: Dispatches

    private func startDispatch(_ dispatch: StepDispatch, now: Int64) -> String {
        let run = runSpan(dispatch.run, now: now)
        let span = tracer.startSpan(
            dispatch.targetStepId.isEmpty ? "tether.dispatch" : "tether.dispatch \(dispatch.targetStepId)",
            context: run.span.context, ofKind: .producer, at: DefaultTracerClock.Instant(unixMilliseconds: now))
        span.updateAttributes { attributes in
            attributes["tether.run.id"] = dispatch.run.id
            attributes["tether.request.id"] = dispatch.requestId
            attributes["tether.attempt"] = dispatch.attempt
            attributes["tether.worker.connection"] = dispatch.connectionId
            if !dispatch.targetStepId.isEmpty { attributes["tether.step.id"] = dispatch.targetStepId }
        }
        dispatches[dispatch.requestId] = DispatchSpan(span: span, runId: dispatch.run.id, stepKey: dispatch.targetStepId)
        runs[dispatch.run.id]?.requests.insert(dispatch.requestId)
        return tracing.traceParent(of: span.context)
    }

    /// `accepted` nil: the lease ended without an answer.
    private func endDispatch(_ requestId: String, accepted: Bool?, now: Int64) {
        guard let dispatch = dispatches.removeValue(forKey: requestId) else { return }
        runs[dispatch.runId]?.requests.remove(requestId)
        if accepted == false { dispatch.span.attributes["tether.result.accepted"] = false }
        if accepted == nil { dispatch.span.setStatus(SpanStatus(code: .error, message: "the lease ended without a result")) }
        dispatch.span.end(at: DefaultTracerClock.Instant(unixMilliseconds: now))
    }

    // MARK: Sleeps and waits

    /// A sleep or a wait that has just ended gets its span, from when it was recorded.
    private func traceTimedStep(_ step: StepRecord, of run: RunRecord, now: Int64) {
        guard step.kind == .sleep || step.kind == .waitForEvent, step.status.isMemoized else { return }
        guard runs[run.id]?.tracedSteps.contains(step.id) != true else { return }
        // An ended run's span is not started again (it would never end).
        guard runs[run.id] != nil || !run.status.isTerminal else { return }
        let parent = runSpan(run, now: now)
        runs[run.id]?.tracedSteps.insert(step.id)
        let name = step.kind == .sleep ? "tether.sleep \(step.id)" : "tether.wait \(step.id)"
        let startedAt = step.startedAtMilliseconds > 0 ? step.startedAtMilliseconds : now
        let span = tracer.startSpan(
            name, context: parent.span.context, ofKind: .internal, at: DefaultTracerClock.Instant(unixMilliseconds: startedAt))
        span.updateAttributes { attributes in
            attributes["tether.run.id"] = run.id
            attributes["tether.step.id"] = step.id
            if step.kind == .waitForEvent {
                attributes["tether.wait.event"] = step.waitEvent
                attributes["tether.wait.timedOut"] = step.output == Array("null".utf8)
            }
        }
        let endedAt = step.endedAtMilliseconds > 0 ? step.endedAtMilliseconds : now
        span.end(at: DefaultTracerClock.Instant(unixMilliseconds: max(endedAt, startedAt)))
    }
}
