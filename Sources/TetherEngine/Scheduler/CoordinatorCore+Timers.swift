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
        let dead = workers.values.filter { now - $0.lastHeartbeatAtMilliseconds > silence }.map(\.connectionId)
        for connectionId in dead.sorted() {
            effects.closes.append(
                ConnectionClose(
                    connectionId: connectionId, code: .heartbeatTimeout,
                    message: "no heartbeat for \(silence) ms; the connection is considered dead"))
            effects.append(applyDisconnect(connectionId: connectionId, resumable: true, now: now))
        }

        for requestId in leases.expired(at: now) {
            // On a live connection, a lease runs out only when no heartbeat listed the request
            // for a whole lease: the worker is not running it.
            requeueLease(requestId, now: now, into: &effects)
            effects.expiredLeases += 1
        }
        pump(now: now, into: &effects)
        return effects
    }

    /// Carries out one due timer, unless its run moved on since it was armed.
    mutating func fire(_ timer: Timer, now: Int64, into effects: inout Effects) {
        switch timer.kind {
        case .cron: return fireCron(timer, now: now, into: &effects)
        case .debounce: return fireDebounce(timer, now: now, into: &effects)
        case .batch: return fireBatch(timer, now: now, into: &effects)
        case .retry, .stepRetry, .sleep, .waitTimeout, .startTimeout, .finishTimeout: break
        }
        guard var run = runs[timer.runId] else { return }
        let index = timer.stepId.isEmpty ? nil : run.steps.firstIndex { $0.id == timer.stepId }
        switch timer.kind {
        case .retry:
            guard run.nextAttemptAtMilliseconds == timer.dueMilliseconds else { return }
            enqueue(.next(run.id), now: now, atFront: false)
        case .stepRetry:
            guard let index, run.steps[index].status == .pending,
                run.steps[index].nextAttemptAtMilliseconds == timer.dueMilliseconds
            else { return }
            enqueue(WorkItem(runId: run.id, stepId: timer.stepId), now: now, atFront: false)
        case .sleep, .waitTimeout:
            let status: StepStatus = timer.kind == .sleep ? .sleeping : .waiting
            guard let index, run.steps[index].status == status,
                run.steps[index].dueAtMilliseconds == timer.dueMilliseconds
            else { return }
            if status == .waiting {
                unindexWait(runId: run.id, stepId: timer.stepId, event: run.steps[index].waitEvent)
            }
            // A sleep returns nothing; a wait that timed out returns nil.
            run.steps[index].complete(output: Array("null".utf8), at: now)
            commit(run, changedSteps: [index], now: now, into: &effects)
        case .startTimeout:
            guard run.status == .queued, run.startedAtMilliseconds == 0 else { return }
            end(
                runId: run.id, status: .cancelled,
                error: RunError(
                    code: ErrorCode.runTimedOut.rawValue,
                    message: "the run did not start within its timeouts.start of \(timer.dueMilliseconds - run.createdAtMilliseconds) ms"),
                now: now, into: &effects)
        case .finishTimeout:
            end(
                runId: run.id, status: .cancelled,
                error: RunError(
                    code: ErrorCode.runTimedOut.rawValue,
                    message: "the run did not finish within its timeouts.finish"),
                now: now, into: &effects)
        case .cron, .debounce, .batch:
            break  // handled above
        }
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
