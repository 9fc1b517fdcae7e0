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
        guard let run = runs[item.runId], readySince[item] == nil, !leases.isLeased(item) else { return }
        readySince[item] = now
        let functionId = run.functionId
        let flow = runFlow[item.runId]
        queueSequence &+= 1
        let rank = atFront ? Int64.min : run.createdAtMilliseconds - (flow?.priorityMilliseconds ?? 0)
        queues[functionId, default: FunctionQueue()].push(
            FunctionQueue.Entry(
                rank: rank, notStarted: run.status == .queued ? 1 : 0, sequence: queueSequence, item: item),
            lane: flow?.lane ?? "")
        if queues[functionId]!.parkedOn == nil, inBacklog.insert(functionId).inserted {
            backlog.append(functionId)
        }
    }

    /// Whether a queued item may go out now: its run is active, and it is either a parallel
    /// step still pending or the continuation of a run with nothing outstanding.
    func isDispatchable(_ item: WorkItem) -> Bool {
        guard readySince[item] != nil, !leases.isLeased(item), let run = runs[item.runId] else { return false }
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
        var blocked: [String] = []
        while let functionId = backlog.popFirst() {
            inBacklog.remove(functionId)
            guard queues[functionId] != nil else { continue }
            if let full = fullFunctionWideLimit(functionId) {
                queues[functionId]!.parkedOn = full
                parkedFunctions[full, default: []].insert(functionId)
                continue
            }
            guard let connectionId = pickWorker(forFunction: functionId) else {
                blocked.append(functionId)
                continue
            }
            if let item = nextItem(of: functionId) {
                dispatch(item, to: connectionId, now: now, into: &effects)
            }
            if queues[functionId]!.isEmpty {
                queues[functionId] = nil
            } else if !queues[functionId]!.rotation.isEmpty {
                inBacklog.insert(functionId)
                backlog.append(functionId)
            }
            // Otherwise every lane is parked: a step ending puts the function back.
        }
        for functionId in blocked where inBacklog.insert(functionId).inserted {
            backlog.append(functionId)
        }
    }

    /// Takes the next dispatchable item of a function, visiting its lanes in rotation: entries
    /// no longer dispatchable (dispatched, ended, superseded) are dropped, and a lane whose
    /// head is over a keyed concurrency limit is parked.
    mutating func nextItem(of functionId: String) -> WorkItem? {
        while let lane = queues[functionId]!.rotation.popFirst() {
            queues[functionId]!.lanes[lane]!.inRotation = false
            // Mutate the queue in place: a copy of a large backlog per dispatch is quadratic.
            while let head = queues[functionId]!.lanes[lane]!.entries.min, !isDispatchable(head.item) {
                _ = queues[functionId]!.lanes[lane]!.entries.removeMin()
                if !leases.isLeased(head.item) { readySince[head.item] = nil }
            }
            guard let head = queues[functionId]!.lanes[lane]!.entries.min else {
                queues[functionId]!.lanes[lane] = nil
                continue
            }
            if let full = fullKeyedLimit(of: head.item.runId) {
                queues[functionId]!.lanes[lane]!.parkedOn = full
                parkedLanes[full, default: []].append((functionId, lane))
                continue
            }
            _ = queues[functionId]!.lanes[lane]!.entries.removeMin()
            if queues[functionId]!.lanes[lane]!.entries.isEmpty {
                queues[functionId]!.lanes[lane] = nil
            } else {
                queues[functionId]!.lanes[lane]!.inRotation = true
                queues[functionId]!.rotation.append(lane)
            }
            return head.item
        }
        return nil
    }

    mutating func dispatch(_ item: WorkItem, to connectionId: String, now: Int64, into effects: inout Effects) {
        guard var run = runs[item.runId], let worker = workers[connectionId] else { return }
        assert(worker.free > 0, "dispatch to \(connectionId), which has no free slot")
        readySince[item] = nil
        let requestId = ids.next(nowMilliseconds: now)
        let deadline = now + Int64(configuration.timing.leaseDurationMilliseconds)
        let constraints = runFlow[item.runId]?.constraints.map(\.key) ?? []
        for key in constraints { constraintInFlight[key, default: 0] += 1 }
        let registration = worker.registration
        leases.insert(
            Lease(
                item: item, connectionId: connectionId, instanceId: registration.instanceId, app: registration.app,
                deadlineMilliseconds: deadline, dispatchedAtMilliseconds: now, constraints: constraints),
            requestId: requestId)
        workers[connectionId]?.inFlight.insert(requestId)
        workers[connectionId]?.dispatchedCount += 1
        workers[connectionId]?.overCapacityByWorker = false
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
            effects.writes.append(.putRun(run, stepIndices: [], created: false))
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
            let count = constraintInFlight[key] ?? 0
            constraintInFlight[key] = count > 1 ? count - 1 : nil
            unpark(key)
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
