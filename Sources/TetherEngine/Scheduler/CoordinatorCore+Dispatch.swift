extension CoordinatorCore {
    /// Makes work ready now, or at `notBefore` when that is later.
    mutating func schedule(_ item: WorkItem, notBefore: Int64, now: Int64) {
        if notBefore > now {
            let kind: Timer.Kind =
                item.stepId.isEmpty ? .retry(runId: item.runId) : .stepRetry(runId: item.runId, stepId: item.stepId)
            timers.insert(Timer(kind, at: notBefore))
        } else {
            enqueue(item, now: now, atFront: false)
        }
    }

    /// Puts work in its function's ready queue (once), in its run's lane, ranked by the run's
    /// creation time less its priority: a run that has started finishes ahead of newer runs
    /// queued behind it, rather than going to the back of a backlog after each step.
    /// `atFront` (work whose worker was lost) goes first.
    mutating func enqueue(_ item: WorkItem, now: Int64, atFront: Bool) {
        guard let run = runs[item.runId], !leases.isLeased(item) else { return }
        let facts = flow.runs[item.runId]
        let rank = atFront ? Int64.min : run.createdAtMilliseconds - (facts?.priorityMilliseconds ?? 0)
        ready.push(
            item, functionId: run.functionId, rank: rank, notStarted: run.status == .queued, lane: facts?.lane ?? "",
            now: now)
    }

    /// Whether a ready item may go out now: its run is active, and it is either a parallel
    /// step still pending or the continuation of a run with nothing outstanding.
    static func isDispatchable(_ item: WorkItem, runs: [String: RunRecord], leases: LeaseTable) -> Bool {
        guard !leases.isLeased(item), let run = runs[item.runId] else { return false }
        if item.stepId.isEmpty {
            return !leases.hasLeases(run: item.runId) && !Self.hasOutstandingSteps(run)
        }
        return run.steps.contains { $0.id == item.stepId && $0.status == .pending }
    }

    /// Dispatches ready work to workers with free slots until either the queues or the free
    /// slots run out: round-robin across functions, and within a function round-robin across
    /// its lanes (fairness keys). A lane whose key is at its concurrency limit, or a function
    /// at a function-wide limit, is parked until one of its steps ends.
    mutating func pump(now: Int64, into effects: inout Effects) {
        guard !dispatchHeld else { return }
        var blocked: [String] = []
        while let functionId = ready.nextFunction() {
            if let full = fullFunctionWideLimit(functionId) {
                ready.park(function: functionId, on: full)
                continue
            }
            guard let connectionId = pickWorker(forFunction: functionId) else {
                blocked.append(functionId)
                continue
            }
            // Read-only views for the queue's checks (no copy: nothing changes them meanwhile).
            let activeRuns = runs
            let leaseTable = leases
            let flowState = flow
            let item = ready.next(
                of: functionId, isDispatchable: { Self.isDispatchable($0, runs: activeRuns, leases: leaseTable) },
                isLeased: { leaseTable.isLeased($0) }, fullKeyedLimit: { flowState.fullKeyedLimit(of: $0) })
            if let item {
                if let later = throttledUntil(item, now: now, into: &effects) {
                    // Late for its reserved start, and the throttle has no room now: it waits.
                    ready.remove(item)
                    runs[item.runId]!.nextAttemptAtMilliseconds = later
                    schedule(item, notBefore: later, now: now)
                } else {
                    dispatch(item, to: connectionId, now: now, into: &effects)
                }
            }
            ready.revisit(functionId)
        }
        for functionId in blocked { ready.postpone(functionId) }
    }

    /// Holds dispatch, or lets it go on (dispatching what is ready at once).
    mutating func applyHoldDispatch(_ held: Bool, now: Int64) -> Effects {
        var effects = Effects()
        guard held != dispatchHeld else { return effects }
        dispatchHeld = held
        if !held { pump(now: now, into: &effects) }
        return effects
    }

    mutating func dispatch(_ item: WorkItem, to connectionId: String, now: Int64, into effects: inout Effects) {
        guard var run = runs[item.runId], let worker = workers[connectionId] else { return }
        assert(worker.free > 0, "dispatch to \(connectionId), which has no free slot")
        ready.remove(item)
        let requestId = ids.next(nowMilliseconds: now)
        let deadline = now + Int64(configuration.timing.leaseDurationMilliseconds)
        let constraints = flow.acquire(runId: item.runId)
        let registration = worker.registration
        leases.insert(
            Lease(
                item: item, connectionId: connectionId, instanceId: registration.instanceId, app: registration.app,
                deadlineMilliseconds: deadline, dispatchedAtMilliseconds: now, constraints: constraints),
            requestId: requestId)
        workers[connectionId]?.recordDispatch(requestId)
        // The lease is durable before the request leaves: a restarted coordinator knows the
        // step is out, and on which worker instance, and waits for it to come back.
        let record = LeaseRecord(
            requestId: requestId, runId: item.runId, stepId: item.stepId, instanceId: registration.instanceId,
            app: registration.app, dispatchedAtMilliseconds: now)
        if run.status != .running {
            if run.status == .queued {
                run.startedAtMilliseconds = now
                armFinishTimeout(run)
            }
            run.status = .running
        }
        if item.stepId.isEmpty {
            // A continuation's lease is part of the run's header, which the commit that applied
            // the run's last result usually writes too: the store writes one header per run and
            // commit, so the lease costs no write of its own.
            run.continuationLease = record
            runs[item.runId] = run
            effects.putHeader(run)
        } else {
            if runs[item.runId]!.status != run.status { runs[item.runId] = run }
            // Not written now: the lease is, and a restart reads a queued run with a lease as
            // started at its dispatch (`restore`).
            effects.writes.append(.putLease(record))
        }
        let attempt =
            item.stepId.isEmpty
            ? run.attempt + 1 : (run.steps.first { $0.id == item.stepId }?.attempts ?? 0) + 1
        effects.messages.append(
            .dispatch(
                StepDispatch(
                    connectionId: connectionId, requestId: requestId, run: run, attempt: attempt,
                    leaseDeadlineMilliseconds: deadline, targetStepId: item.stepId)))
    }

    /// Forgets a lease (answered, handed back, expired, or not resumed). Returns it, if it
    /// existed. Its concurrency keys get a free slot: lanes and functions parked on them go
    /// back in rotation. With `deletingRecord` false the stored lease is left for the caller
    /// to delete, or to leave as stale (see ``applyResult(connectionId:requestId:runId:outcome:now:)``).
    @discardableResult
    mutating func releaseLease(_ requestId: String, deletingRecord: Bool = true, into effects: inout Effects) -> Lease? {
        guard let lease = leases.remove(requestId) else { return nil }
        if lease.item.stepId.isEmpty {
            // In the run's header: a result's commit rewrites it; otherwise it is rewritten now.
            if runs[lease.runId]?.continuationLease?.requestId == requestId {
                runs[lease.runId]!.continuationLease = nil
                if deletingRecord { effects.writes.append(.putRun(runs[lease.runId]!, stepIndices: [], created: false)) }
            }
        } else if deletingRecord {
            effects.writes.append(.deleteLease(runId: lease.runId, stepId: lease.item.stepId))
        }
        if !lease.connectionId.isEmpty { workers[lease.connectionId]?.inFlight.remove(requestId) }
        for key in lease.constraints {
            flow.release(key)
            ready.unpark(key)
        }
        return lease
    }

    /// Releases a lease whose work must go out again (expired, handed back, not resumed).
    mutating func requeueLease(_ requestId: String, now: Int64, into effects: inout Effects) {
        guard let lease = releaseLease(requestId, into: &effects) else { return }
        enqueue(lease.item, now: now, atFront: true)
        advance(runId: lease.runId, now: now)
    }

    /// Takes a lease from its connection (which ended without a Goodbye) and keeps it for
    /// the same worker instance to resume until its deadline.
    mutating func detachLease(_ requestId: String) {
        guard leases[requestId]?.connectionId.isEmpty == false,
            let lease = leases.move(requestId, to: "", deadline: 0)
        else { return }
        workers[lease.connectionId]?.inFlight.remove(requestId)
    }

    /// Gives a lease to `connectionId` (a reconnected worker resuming it), detached or not.
    mutating func attachLease(_ requestId: String, to connectionId: String, now: Int64) {
        let deadline = now + Int64(configuration.timing.leaseDurationMilliseconds)
        guard let lease = leases.move(requestId, to: connectionId, deadline: deadline) else { return }
        if !lease.connectionId.isEmpty { workers[lease.connectionId]?.inFlight.remove(requestId) }
        workers[connectionId]?.inFlight.insert(requestId)
        workers[connectionId]?.unleasedBusy.remove(requestId)
    }
}
