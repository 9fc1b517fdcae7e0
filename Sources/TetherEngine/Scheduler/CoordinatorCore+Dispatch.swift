extension CoordinatorCore {
    /// Makes work ready now, or at `notBefore` when that is later.
    mutating func schedule(_ item: WorkItem, notBefore: Int64, now: Int64) {
        if notBefore > now {
            let kind: Timer.Kind = item.stepId.isEmpty ? .retry : .stepRetry
            timers.insert(Timer(dueMilliseconds: notBefore, kind: kind, runId: item.runId, stepId: item.stepId))
        } else {
            enqueue(item, now: now, atFront: false)
        }
    }

    /// Puts work in its function's ready queue (once).
    mutating func enqueue(_ item: WorkItem, now: Int64, atFront: Bool) {
        guard let run = runs[item.runId], readySince[item] == nil, leasedItems[item] == nil else { return }
        readySince[item] = now
        let functionId = run.functionId
        if atFront {
            queues[functionId, default: []].prepend(item)
        } else {
            queues[functionId, default: []].append(item)
        }
        if inBacklog.insert(functionId).inserted {
            backlog.append(functionId)
        }
    }

    /// Whether a queued item may go out now: its run is active, and it is either a parallel
    /// step still pending or the continuation of a run with nothing outstanding.
    func isDispatchable(_ item: WorkItem) -> Bool {
        guard readySince[item] != nil, leasedItems[item] == nil, let run = runs[item.runId] else { return false }
        if item.stepId.isEmpty {
            return runLeases[item.runId] == nil && !Self.hasOutstandingSteps(run)
        }
        return run.steps.contains { $0.id == item.stepId && $0.status == .pending }
    }

    /// Dispatches ready work to workers with free slots, round-robin across functions, until
    /// either the queues or the free slots run out.
    mutating func pump(now: Int64, into effects: inout Effects) {
        var blocked: [String] = []
        while let functionId = backlog.popFirst() {
            // Mutate the queue in place: a copy of a large backlog per dispatch is quadratic.
            // Drop entries that are no longer dispatchable (dispatched, ended, superseded).
            while let head = queues[functionId]?.first, !isDispatchable(head) {
                queues[functionId]!.removeFirst()
                if leasedItems[head] == nil { readySince[head] = nil }
            }
            guard queues[functionId]?.isEmpty == false else {
                queues[functionId] = nil
                inBacklog.remove(functionId)
                continue
            }
            guard let connectionId = pickWorker(forFunction: functionId) else {
                blocked.append(functionId)
                continue
            }
            let item = queues[functionId]!.removeFirst()
            if queues[functionId]!.isEmpty {
                queues[functionId] = nil
                inBacklog.remove(functionId)
            } else {
                backlog.append(functionId)
            }
            dispatch(item, to: connectionId, now: now, into: &effects)
        }
        backlog.append(contentsOf: blocked)
    }

    mutating func dispatch(_ item: WorkItem, to connectionId: String, now: Int64, into effects: inout Effects) {
        guard var run = runs[item.runId] else { return }
        readySince[item] = nil
        let requestId = ids.next(nowMilliseconds: now)
        let deadline = now + Int64(configuration.timing.leaseDurationMilliseconds)
        leases[requestId] = Lease(
            item: item, connectionId: connectionId, deadlineMilliseconds: deadline, dispatchedAtMilliseconds: now)
        runLeases[item.runId, default: 0] += 1
        leasedItems[item] = requestId
        workers[connectionId]?.inFlight.insert(requestId)
        workers[connectionId]?.dispatchedCount += 1
        if run.status != .running {
            if run.status == .queued {
                run.startedAtMilliseconds = now
                armFinishTimeout(run)
            }
            run.status = .running
            runs[item.runId] = run
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

    /// Forgets a lease (answered, expired or its connection gone). Returns it, if it existed.
    @discardableResult
    mutating func releaseLease(_ requestId: String) -> Lease? {
        guard let lease = leases.removeValue(forKey: requestId) else { return nil }
        workers[lease.connectionId]?.inFlight.remove(requestId)
        if let count = runLeases[lease.runId] {
            runLeases[lease.runId] = count > 1 ? count - 1 : nil
        }
        if leasedItems[lease.item] == requestId { leasedItems[lease.item] = nil }
        return lease
    }
}
