extension CoordinatorCore {
    /// The event emitted when a run fails; `onFailure` handlers are functions triggered by it.
    public static let functionFailedEvent = "tether/function.failed"
    /// The event of a run started by `step.invoke`.
    public static let functionInvokedEvent = "tether/function.invoked"

    /// True while a run has steps the function must wait for: parallel steps not done,
    /// timers, waits, invoked runs.
    static func hasOutstandingSteps(_ run: RunRecord) -> Bool {
        run.steps.contains { step in
            switch step.status {
            case .pending, .sleeping, .waiting, .invoking: true
            case .completed, .failed, .retrying: false
            }
        }
    }

    /// Decides what an active run needs next, after anything changed it: its pending parallel
    /// steps are made ready; with nothing outstanding it continues (at its retry time); its
    /// status follows (`running`, `sleeping` or `waiting`).
    mutating func advance(runId: String, now: Int64) {
        guard var run = runs[runId] else { return }
        var pending = false
        var waiting = false
        var sleeping = false
        for step in run.steps {
            switch step.status {
            case .pending:
                pending = true
                let item = WorkItem(runId: runId, stepId: step.id)
                if !ready.isReady(item), !leases.isLeased(item) {
                    schedule(item, notBefore: step.nextAttemptAtMilliseconds, now: now)
                }
            case .waiting, .invoking: waiting = true
            case .sleeping: sleeping = true
            case .completed, .failed, .retrying: break
            }
        }
        let leased = leases.hasLeases(run: runId)
        if !pending && !waiting && !sleeping && !leased {
            schedule(.next(runId), notBefore: run.nextAttemptAtMilliseconds, now: now)
        }
        let status: RunStatus =
            if run.status == .queued && run.startedAtMilliseconds == 0 {
                .queued
            } else if pending || leased || (!waiting && !sleeping) {
                .running
            } else if waiting {
                .waiting
            } else {
                .sleeping
            }
        if status != run.status {
            run.status = status
            runs[runId] = run
        }
    }

    /// Writes a run that reached a terminal status and forgets it: its waits and `cancelOn`
    /// registrations go, its timers are dropped when they come due. A run started by
    /// `step.invoke` resolves its parent's step; a failed run emits `tether/function.failed`.
    mutating func finish(_ run: RunRecord, changedSteps: [Int], now: Int64, into effects: inout Effects) {
        var run = run
        // A step still out keeps its lease in memory until answered; an ended run is not restored.
        run.continuationLease = nil
        runs[run.id] = nil
        leases.markEnded(run: run.id)
        // Queue entries of the run are dropped when they reach the head of their queue.
        ready.remove(.next(run.id))
        for step in run.steps {
            switch step.status {
            case .waiting: unindexWait(runId: run.id, stepId: step.id, event: step.waitEvent)
            case .pending: ready.remove(WorkItem(runId: run.id, stepId: step.id))
            case .completed, .failed, .retrying, .sleeping, .invoking: break
            }
        }
        unregisterCancelOn(runId: run.id, functionId: run.functionId)
        flow.untrack(runId: run.id)
        effects.writes.append(.putRun(run, stepIndices: changedSteps, created: false))
        effects.finishedRuns.append(run.id)
        if !run.parentRunId.isEmpty {
            resolveInvoke(parentRunId: run.parentRunId, stepId: run.parentStepId, child: run, now: now, into: &effects)
        }
        if run.status == .failed, run.events.first?.name != Self.functionFailedEvent {
            emitFailure(of: run, now: now, into: &effects)
        }
    }

    /// Memoizes the `invoke` step of `parentRunId` with the output or error of the run it started.
    mutating func resolveInvoke(
        parentRunId: String, stepId: String, child: RunRecord, now: Int64, into effects: inout Effects
    ) {
        guard var parent = runs[parentRunId],
            let index = parent.steps.firstIndex(where: {
                $0.id == stepId && $0.status == .invoking && $0.childRunId == child.id
            })
        else { return }
        if child.status == .completed {
            parent.steps[index].complete(output: child.output ?? Array("null".utf8), at: now)
        } else {
            let cause = child.error ?? RunError(code: child.status.rawValue, message: "the run \(child.status.rawValue)")
            parent.steps[index].status = .failed
            parent.steps[index].error = RunError(
                code: cause.code,
                message: "invoked function '\(child.functionId)' run \(child.id) \(child.status.rawValue): \(cause.message)",
                type: cause.type)
            parent.steps[index].endedAtMilliseconds = now
        }
        commit(parent, changedSteps: [index], now: now, into: &effects)
    }

    /// Sends `tether/function.failed` for a run that failed: `onFailure` handlers and anyone
    /// else may subscribe to it.
    mutating func emitFailure(of run: RunRecord, now: Int64, into effects: inout Effects) {
        let error = run.error ?? RunError(code: ErrorCode.stepFailed.rawValue, message: "the run failed")
        let data: JSONValue = [
            "function_id": .string(run.functionId), "run_id": .string(run.id),
            "error": ["code": .string(error.code), "message": .string(error.message)],
            "event": run.events.first.map(Self.document(of:)) ?? .null,
        ]
        _ = accept(
            IncomingEvent(name: Self.functionFailedEvent, data: data.serialized()), now: now,
            into: &effects)
    }

    /// Arms the `timeouts.start` and `timeouts.finish` timers of a run that applies to it.
    mutating func armRunTimers(_ run: RunRecord) {
        guard let definition = functions[run.functionId]?.definition else { return }
        if definition.timeoutStartMilliseconds > 0, run.status == .queued {
            timers.insert(
                Timer(.startTimeout(runId: run.id), at: run.createdAtMilliseconds + definition.timeoutStartMilliseconds))
        }
        if run.startedAtMilliseconds > 0 {
            armFinishTimeout(run)
        }
    }

    mutating func armFinishTimeout(_ run: RunRecord) {
        guard let definition = functions[run.functionId]?.definition, definition.timeoutFinishMilliseconds > 0 else {
            return
        }
        let started = run.startedAtMilliseconds > 0 ? run.startedAtMilliseconds : run.createdAtMilliseconds
        timers.insert(Timer(.finishTimeout(runId: run.id), at: started + definition.timeoutFinishMilliseconds))
    }
}
