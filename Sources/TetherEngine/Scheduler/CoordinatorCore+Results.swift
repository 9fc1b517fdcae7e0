import HeapModule

extension CoordinatorCore {
    /// A worker reported the outcome of `requestId` for `runId`.
    ///
    /// Results are idempotent. The result last applied to a run, sent again after a reconnect,
    /// is acknowledged without being applied twice. A result for a lease still held is applied.
    /// A late one (its lease expired, its connection died, or the coordinator restarted) is
    /// applied only if the run is waiting for dispatch and the step is not already memoized.
    /// Anything else is acknowledged as not accepted.
    public mutating func handleResult(
        connectionId: String, requestId: String, runId: String, outcome: StepOutcome, now: Int64
    ) -> Effects {
        var effects = Effects()
        var accepted = false
        if let run = runs[runId], run.lastRequestId == requestId {
            // Applied before (the worker resent it after a reconnect): durable already.
            effects.messages.append(.resultAck(connectionId: connectionId, requestId: requestId, accepted: true))
            return effects
        }
        if let lease = leases.removeValue(forKey: requestId) {
            workers[lease.connectionId]?.inFlight.remove(requestId)
            runLeases[lease.runId] = nil
            accepted = apply(
                outcome, runId: lease.runId, requestId: requestId, connectionId: connectionId, now: now, into: &effects)
            if !accepted, runs[lease.runId] != nil {
                // The lease is gone either way: the run must be dispatched again.
                enqueue(runId: lease.runId, now: now, atFront: true)
            }
        } else if runs[runId] != nil, runLeases[runId] == nil {
            // A late result for a run waiting to be dispatched again.
            readySince[runId] = nil
            removeDelayed(runId: runId)
            accepted = apply(outcome, runId: runId, requestId: requestId, connectionId: connectionId, now: now, into: &effects)
            if !accepted, let run = runs[runId] {
                schedule(runId: runId, notBefore: run.nextAttemptAtMilliseconds, now: now)
            }
        }
        effects.messages.append(.resultAck(connectionId: connectionId, requestId: requestId, accepted: accepted))
        pump(now: now, into: &effects)
        return effects
    }

    /// Applies an outcome to an active run. Returns false when the result could not be used
    /// (a step reported again, an unknown run).
    mutating func apply(
        _ outcome: StepOutcome, runId: String, requestId: String, connectionId: String, now: Int64,
        into effects: inout Effects
    ) -> Bool {
        guard var run = runs[runId] else { return false }
        run.lastRequestId = requestId
        let worker = workers[connectionId]?.registration.instanceId ?? ""
        switch outcome {
        case .stepCompleted(let completion):
            guard let index = record(completion, in: &run, worker: worker, now: now, effects: &effects) else {
                return false
            }
            run.attempt = 0
            run.nextAttemptAtMilliseconds = 0
            runs[runId] = run
            if run.status.isTerminal {
                finish(run, changedSteps: [index], into: &effects)
            } else {
                effects.writes.append(.putRun(run, stepIndices: [index], created: false))
                enqueue(runId: runId, now: now, atFront: false)
            }
        case .runCompleted(let lastStep, let output):
            var changed: [Int] = []
            if let lastStep {
                guard let index = record(lastStep, in: &run, worker: worker, now: now, effects: &effects) else {
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
            finish(run, changedSteps: changed, into: &effects)
        case .stepFailed(let failure):
            let attempts = run.attempt + 1
            let final = failure.nonRetriable || attempts >= run.maxAttempts
            var changed: [Int] = []
            if !failure.stepId.isEmpty {
                if let existing = run.steps.firstIndex(where: { $0.id == failure.stepId }) {
                    guard run.steps[existing].status != .completed else { return false }
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
                finish(run, changedSteps: changed, into: &effects)
            } else if final {
                // The step failed for good: memoized as failed, the function runs again and
                // sees the error thrown from the step, so it can catch it and compensate.
                run.attempt = 0
                run.nextAttemptAtMilliseconds = 0
                runs[runId] = run
                effects.writes.append(.putRun(run, stepIndices: changed, created: false))
                enqueue(runId: runId, now: now, atFront: false)
            } else {
                run.attempt = attempts
                let backoff = configuration.retry.delay(afterFailedAttempts: attempts, using: &random)
                run.nextAttemptAtMilliseconds = max(failure.retryAtMilliseconds ?? 0, now + backoff)
                runs[runId] = run
                effects.writes.append(.putRun(run, stepIndices: changed, created: false))
                schedule(runId: runId, notBefore: run.nextAttemptAtMilliseconds, now: now)
            }
        case .stepsPlanned:
            // Not handled yet (work in progress on issue 3).
            return false
        }
        return true
    }

    /// Memoizes a completed step. Returns its index, or nil when the step was already
    /// completed (a duplicate or a non-deterministic function). Enforces the step limits by
    /// failing the run.
    mutating func record(
        _ completion: StepCompletion, in run: inout RunRecord, worker: String, now: Int64, effects: inout Effects
    ) -> Int? {
        let limits = configuration.limits
        let existing = run.steps.firstIndex(where: { $0.id == completion.stepId })
        if let existing, run.steps[existing].status == .completed { return nil }
        var step = StepRecord(
            id: completion.stepId, status: .completed, attempts: run.attempt + 1, output: completion.output,
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

    /// Writes a run that reached a terminal status and forgets it.
    mutating func finish(_ run: RunRecord, changedSteps: [Int], into effects: inout Effects) {
        runs[run.id] = nil
        readySince[run.id] = nil
        effects.writes.append(.putRun(run, stepIndices: changedSteps, created: false))
        effects.finishedRuns.append(run.id)
    }

    mutating func removeDelayed(runId: String) {
        guard delayed.unordered.contains(where: { $0.runId == runId }) else { return }
        delayed = Heap(delayed.unordered.filter { $0.runId != runId })
    }
}
