extension CoordinatorCore {
    /// Time-driven work at `now`: timers that are due (retries, sleeps, wait timeouts, run
    /// timeouts), leases that expired, and connections silent for too long (closed; their
    /// steps re-queued without consuming an attempt).
    mutating func applyTick(now: Int64) -> Effects {
        var effects = Effects()
        while let top = timers.min, top.dueMilliseconds <= now {
            _ = timers.removeMin()
            fire(top, now: now, into: &effects)
        }
        expireIdempotencyKeys(now: now, into: &effects)
        expireFlowStates(now: now, into: &effects)

        let timing = configuration.timing
        let silence = Int64(timing.heartbeatIntervalMilliseconds * timing.missedHeartbeatsBeforeDead)
        for connectionId in silentConnections(now: now).sorted() {
            effects.closes.append(
                ConnectionClose(
                    connectionId: connectionId, code: .heartbeatTimeout,
                    message: "no heartbeat for \(silence) ms; the connection is considered dead"))
            effects.append(applyDisconnect(connectionId: connectionId, resumable: true, now: now))
        }

        for requestId in leases.takeExpired(at: now) {
            // On a live connection, a lease runs out only when no heartbeat listed the request
            // for a whole lease: the worker is not running it.
            requeueLease(requestId, now: now, into: &effects)
            effects.expiredLeases += 1
        }
        pump(now: now, into: &effects)
        return effects
    }

    /// Carries out one due timer, unless what it names moved on since it was armed.
    mutating func fire(_ timer: Timer, now: Int64, into effects: inout Effects) {
        let due = timer.dueMilliseconds
        switch timer.kind {
        case .cron(let functionId, let key):
            fireCron(functionId: functionId, key: key, due: due, now: now, into: &effects)
        case .debounce(let key):
            fireDebounce(key: key, due: due, now: now, into: &effects)
        case .batch(let key):
            fireBatch(key: key, due: due, now: now, into: &effects)
        case .retry(let runId):
            guard runs[runId]?.nextAttemptAtMilliseconds == due else { return }
            enqueue(.next(runId), now: now, atFront: false)
        case .stepRetry(let runId, let stepId):
            guard let step = runs[runId]?.steps.first(where: { $0.id == stepId }), step.status == .pending,
                step.nextAttemptAtMilliseconds == due
            else { return }
            enqueue(WorkItem(runId: runId, stepId: stepId), now: now, atFront: false)
        case .sleep(let runId, let stepId):
            wake(runId: runId, stepId: stepId, from: .sleeping, due: due, now: now, into: &effects)
        case .waitTimeout(let runId, let stepId):
            wake(runId: runId, stepId: stepId, from: .waiting, due: due, now: now, into: &effects)
        case .startTimeout(let runId):
            guard let run = runs[runId], run.status == .queued, run.startedAtMilliseconds == 0 else { return }
            end(
                runId: runId, status: .cancelled,
                error: RunError(
                    code: ErrorCode.runTimedOut.rawValue,
                    message: "the run did not start within its timeouts.start of \(due - run.createdAtMilliseconds) ms"),
                now: now, into: &effects)
        case .finishTimeout(let runId):
            end(
                runId: runId, status: .cancelled,
                error: RunError(
                    code: ErrorCode.runTimedOut.rawValue,
                    message: "the run did not finish within its timeouts.finish"),
                now: now, into: &effects)
        }
    }

    /// A sleep ended or a wait timed out: the step is memoized with `null`, if it is still
    /// in `status` with that due time.
    private mutating func wake(
        runId: String, stepId: String, from status: StepStatus, due: Int64, now: Int64, into effects: inout Effects
    ) {
        guard var run = runs[runId], let index = run.steps.firstIndex(where: { $0.id == stepId }),
            run.steps[index].status == status, run.steps[index].dueAtMilliseconds == due
        else { return }
        if status == .waiting {
            unindexWait(runId: runId, stepId: stepId, event: run.steps[index].waitEvent)
        }
        // A sleep returns nothing; a wait that timed out returns nil.
        run.steps[index].complete(output: Array("null".utf8), at: now)
        commit(run, changedSteps: [index], now: now, into: &effects)
    }

    /// The next time `tick` has work to do, if any: the earliest timer, lease deadline or
    /// heartbeat expiry.
    public var nextDeadline: Int64? {
        var next = timers.min?.dueMilliseconds
        func consider(_ value: Int64) {
            next = next.map { min($0, value) } ?? value
        }
        if let deadline = leases.earliestDeadline {
            consider(deadline)
        }
        let timing = configuration.timing
        let silence = Int64(timing.heartbeatIntervalMilliseconds * timing.missedHeartbeatsBeforeDead)
        if let oldest = workers.values.min(by: { $0.lastHeartbeatAtMilliseconds < $1.lastHeartbeatAtMilliseconds }) {
            consider(oldest.lastHeartbeatAtMilliseconds + silence + 1)
        }
        return next
    }

    /// The earliest timer only (cheap; for the I/O layer's timer).
    public var nextTimerDeadline: Int64? { timers.min?.dueMilliseconds }
}
