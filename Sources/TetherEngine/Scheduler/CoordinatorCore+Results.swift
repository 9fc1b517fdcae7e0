import HeapModule

extension CoordinatorCore {
    /// A worker reported the outcome of `requestId` for `runId`.
    ///
    /// A result counts only when it comes from the holder of the request's lease: the
    /// connection it was dispatched to, or a later connection of the same worker instance and
    /// app (a reconnect), and only for the run leased under that request id. Everything else
    /// is acknowledged as not accepted and reported in ``Effects/refusedResults``. Results are
    /// idempotent: the result last applied to a run, sent again after a reconnect, is
    /// acknowledged without being applied twice.
    mutating func applyResult(
        connectionId: String, requestId: String, runId: String, outcome: StepOutcome, now: Int64
    ) -> Effects {
        var effects = Effects()
        if let run = runs[runId], run.lastRequestId == requestId {
            // Applied before (the worker resent it after a reconnect): durable already.
            effects.messages.append(.resultAck(connectionId: connectionId, requestId: requestId, accepted: true))
            return effects
        }
        // A request the worker ran without a lease has returned: its slot is free again.
        let freedUnleased =
            workers[connectionId]?.unleasedBusy.isEmpty == false
            && workers[connectionId]?.unleasedBusy.remove(requestId) != nil
        var accepted = false
        var released = false
        if let refusal = refusal(connectionId: connectionId, requestId: requestId, runId: runId) {
            effects.refusedResults.append(RefusedResult(connectionId: connectionId, requestId: requestId, reason: refusal))
        } else if let lease = releaseLease(requestId, deletingRecord: false, into: &effects) {
            released = true
            accepted = apply(
                outcome, runId: lease.runId, target: lease.item.stepId, requestId: requestId, connectionId: connectionId,
                now: now, into: &effects)
            if !lease.item.stepId.isEmpty {
                effects.writes.append(.deleteLease(runId: lease.runId, stepId: lease.item.stepId))
            } else if !accepted, let run = runs[lease.runId] {
                // An applied result's commit wrote the run's header without the lease (or the
                // run's end did); otherwise the header is written again now, without it.
                effects.writes.append(.putRun(run, stepIndices: [], created: false))
            }
            if !accepted, runs[lease.runId] != nil {
                // The lease is gone either way: the work must be dispatched again.
                enqueue(lease.item, now: now, atFront: true)
                advance(runId: lease.runId, now: now)
            }
        }
        effects.messages.append(.resultAck(connectionId: connectionId, requestId: requestId, accepted: accepted))
        if accepted || freedUnleased || released { pump(now: now, into: &effects) }
        return effects
    }

    /// Why a result from `connectionId` may not be applied, or nil when it may.
    func refusal(connectionId: String, requestId: String, runId: String) -> RefusedResult.Reason? {
        guard let lease = leases[requestId] else { return .noLease }
        guard lease.runId == runId else { return .runMismatch }
        if lease.connectionId == connectionId { return nil }
        guard let worker = workers[connectionId], worker.registration.instanceId == lease.instanceId,
            worker.registration.app == lease.app
        else { return .notHolder }
        return nil
    }

    /// Applies an outcome to an active run. `target` is the parallel step the request was
    /// for (empty: the run's continuation). Returns false when the result could not be used
    /// (a step reported again, a result that does not fit the request, an unknown run).
    mutating func apply(
        _ outcome: StepOutcome, runId: String, target: String, requestId: String, connectionId: String, now: Int64,
        into effects: inout Effects
    ) -> Bool {
        guard var run = runs[runId] else { return false }
        let worker = workers[connectionId]?.registration.instanceId ?? ""
        if !target.isEmpty {
            return applyTargeted(outcome, run: run, target: target, requestId: requestId, worker: worker, now: now, into: &effects)
        }
        guard !Self.hasOutstandingSteps(run) else { return false }
        run.lastRequestId = requestId
        if run.status == .queued {
            // Dispatched before a restart that did not see it start: it has started.
            run.status = .running
            run.startedAtMilliseconds = run.startedAtMilliseconds == 0 ? now : run.startedAtMilliseconds
        }
        switch outcome {
        case .stepCompleted(let completion):
            guard let index = record(completion, in: &run, attempts: run.attempt + 1, worker: worker, now: now) else {
                return false
            }
            run.attempt = 0
            run.nextAttemptAtMilliseconds = 0
            commit(run, changedSteps: [index], now: now, into: &effects)
        case .runCompleted(let lastStep, let output):
            var changed: [Int] = []
            if let lastStep {
                guard let index = record(lastStep, in: &run, attempts: run.attempt + 1, worker: worker, now: now) else {
                    return false
                }
                changed.append(index)
            }
            if !run.status.isTerminal {
                if output.count > configuration.limits.maxStepOutputBytes {
                    run.status = .failed
                    run.error = RunError(
                        code: ErrorCode.outputTooLarge.rawValue,
                        message: "the function's output is \(output.count) bytes, over the limit of \(configuration.limits.maxStepOutputBytes)")
                } else {
                    run.status = .completed
                    run.output = output
                }
            }
            run.endedAtMilliseconds = now
            finish(run, changedSteps: changed, now: now, into: &effects)
        case .stepFailed(let failure):
            let attempts = run.attempt + 1
            let final = failure.nonRetriable || attempts >= run.maxAttempts
            var changed: [Int] = []
            if !failure.stepId.isEmpty {
                if let existing = run.steps.firstIndex(where: { $0.id == failure.stepId }) {
                    guard !run.steps[existing].status.isMemoized else { return false }
                    run.steps[existing].status = final ? .failed : .retrying
                    run.steps[existing].attempts = attempts
                    run.steps[existing].error = failure.error
                    run.steps[existing].worker = worker
                    run.steps[existing].startedAtMilliseconds = failure.startedAtMilliseconds
                    run.steps[existing].endedAtMilliseconds = failure.endedAtMilliseconds
                    changed.append(existing)
                } else {
                    run.steps.append(
                        StepRecord(
                            id: failure.stepId, status: final ? .failed : .retrying, attempts: attempts,
                            error: failure.error, worker: worker, startedAtMilliseconds: failure.startedAtMilliseconds,
                            endedAtMilliseconds: failure.endedAtMilliseconds))
                    changed.append(run.steps.count - 1)
                }
            }
            if final && failure.stepId.isEmpty {
                // The function itself failed for good (or did not catch a failed step).
                run.status = .failed
                run.error = failure.error
                run.endedAtMilliseconds = now
                finish(run, changedSteps: changed, now: now, into: &effects)
            } else if final {
                // The step failed for good: memoized as failed, the function runs again and
                // sees the error thrown from the step, so it can catch it and compensate.
                run.attempt = 0
                run.nextAttemptAtMilliseconds = 0
                commit(run, changedSteps: changed, now: now, into: &effects)
            } else {
                run.attempt = attempts
                let backoff = configuration.retry.delay(afterFailedAttempts: attempts, using: &random)
                run.nextAttemptAtMilliseconds = retryTime(failure, backoff: backoff, now: now)
                commit(run, changedSteps: changed, now: now, into: &effects)
            }
        case .stepsPlanned(let executed, let planned):
            var changed: [Int] = []
            if let executed {
                guard let index = record(executed, in: &run, attempts: run.attempt + 1, worker: worker, now: now) else {
                    return false
                }
                changed.append(index)
            }
            run.attempt = 0
            run.nextAttemptAtMilliseconds = 0
            if run.status.isTerminal {
                finish(run, changedSteps: changed, now: now, into: &effects)
                return true
            }
            plan(planned, in: &run, changed: &changed, now: now, into: &effects)
        }
        return true
    }

    /// Applies the result of a request for one parallel step.
    mutating func applyTargeted(
        _ outcome: StepOutcome, run original: RunRecord, target: String, requestId: String, worker: String, now: Int64,
        into effects: inout Effects
    ) -> Bool {
        var run = original
        guard let index = run.steps.firstIndex(where: { $0.id == target }), run.steps[index].status == .pending else {
            return false
        }
        let attempts = run.steps[index].attempts + 1
        switch outcome {
        case .stepCompleted(let completion) where completion.stepId == target,
            .runCompleted(.some(let completion), _) where completion.stepId == target,
            .stepsPlanned(.some(let completion), _) where completion.stepId == target:
            // Only the target counts: whatever else the replay reached is already planned.
            guard record(completion, in: &run, attempts: attempts, worker: worker, now: now) != nil else { return false }
        default:
            // The target's own failure; or an answer about something else (the function threw
            // before it reached the target, or a buggy worker): a failed attempt of the target
            // either way, so that no answer makes it go out again without cost.
            var failure: StepFailure
            if case .stepFailed(let reported) = outcome {
                failure = reported
                if reported.stepId != target {
                    failure.error.message = "before step '\(target)' ran: \(reported.error.message)"
                }
            } else {
                failure = StepFailure(
                    stepId: target,
                    error: RunError(
                        code: ErrorCode.protocolError.rawValue,
                        message: "the answer to the request for step '\(target)' was about another step"))
            }
            let final = failure.nonRetriable || attempts >= run.maxAttempts
            run.steps[index].attempts = attempts
            run.steps[index].error = failure.error
            run.steps[index].worker = worker
            run.steps[index].startedAtMilliseconds = failure.startedAtMilliseconds
            run.steps[index].endedAtMilliseconds = failure.endedAtMilliseconds
            if final {
                run.steps[index].status = .failed
            } else {
                let backoff = configuration.retry.delay(afterFailedAttempts: attempts, using: &random)
                run.steps[index].nextAttemptAtMilliseconds = retryTime(failure, backoff: backoff, now: now)
            }
        }
        run.lastRequestId = requestId
        if run.status.isTerminal {
            finish(run, changedSteps: [index], now: now, into: &effects)
        } else {
            commit(run, changedSteps: [index], now: now, into: &effects)
        }
        return true
    }

    /// When a failed attempt goes again: after its backoff, or at the worker's `RetryAfterError`
    /// time when later, but never further out than the longest durable timer.
    func retryTime(_ failure: StepFailure, backoff: Int64, now: Int64) -> Int64 {
        let latest = now + configuration.limits.maxSleepMilliseconds
        return min(max(failure.retryAtMilliseconds ?? 0, now + backoff), latest)
    }

    /// Stores an active run that changed and decides what it does next.
    mutating func commit(_ run: RunRecord, changedSteps: [Int], now: Int64, into effects: inout Effects) {
        if run.status.isTerminal {
            finish(run, changedSteps: changedSteps, now: now, into: &effects)
            return
        }
        runs[run.id] = run
        advance(runId: run.id, now: now)
        effects.writes.append(.putRun(runs[run.id]!, stepIndices: changedSteps, created: false))
    }

    /// Memoizes a completed step. Returns its index, or nil when the step was already
    /// completed (a duplicate or a non-deterministic function). Enforces the step limits by
    /// failing the run.
    mutating func record(
        _ completion: StepCompletion, in run: inout RunRecord, attempts: Int, worker: String, now: Int64
    ) -> Int? {
        let limits = configuration.limits
        let existing = run.steps.firstIndex(where: { $0.id == completion.stepId })
        if let existing, run.steps[existing].status.isMemoized || run.steps[existing].kind != .run { return nil }
        var step = StepRecord(
            id: completion.stepId, status: .completed, attempts: attempts, output: completion.output,
            worker: worker, startedAtMilliseconds: completion.startedAtMilliseconds,
            endedAtMilliseconds: completion.endedAtMilliseconds)
        let overLimit: RunError? =
            if completion.output.count > limits.maxStepOutputBytes {
                RunError(
                    code: ErrorCode.outputTooLarge.rawValue,
                    message: "step '\(completion.stepId)' output is \(completion.output.count) bytes, over the limit of \(limits.maxStepOutputBytes)")
            } else if Self.stateBytes(of: run) + completion.output.count > limits.maxRunStateBytes {
                RunError(
                    code: ErrorCode.runStateTooLarge.rawValue,
                    message: "step '\(completion.stepId)' would make the run's state larger than \(limits.maxRunStateBytes) bytes")
            } else {
                nil
            }
        if let overLimit {
            step.status = .failed
            step.output = []
            step.error = overLimit
            run.status = .failed
            run.error = overLimit
            run.endedAtMilliseconds = now
        } else if existing == nil && run.steps.count >= limits.maxStepsPerRun {
            run.status = .failed
            run.error = RunError(
                code: ErrorCode.tooManySteps.rawValue,
                message: "the run reached the limit of \(limits.maxStepsPerRun) steps")
            run.endedAtMilliseconds = now
            return run.steps.count - 1
        }
        if let existing {
            run.steps[existing] = step
            return existing
        }
        run.steps.append(step)
        return run.steps.count - 1
    }

    /// Bytes of a run's events and steps: about what every dispatch of it carries.
    static func stateBytes(of run: RunRecord) -> Int {
        run.events.reduce(0) { $0 + $1.data.count + $1.name.utf8.count + $1.id.utf8.count + 32 }
            + run.steps.reduce(0) {
                $0 + $1.output.count + $1.id.utf8.count + ($1.error.map { $0.message.utf8.count + $0.code.utf8.count } ?? 0)
                    + 16
            }
    }
}
