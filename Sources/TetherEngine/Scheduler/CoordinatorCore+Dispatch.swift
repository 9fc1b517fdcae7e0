extension CoordinatorCore {
    /// Makes a run ready now, or at `notBefore` when that is later.
    mutating func schedule(runId: String, notBefore: Int64, now: Int64) {
        if notBefore > now {
            delayed.insert(DelayedRun(dueMilliseconds: notBefore, runId: runId))
        } else {
            enqueue(runId: runId, now: now, atFront: false)
        }
    }

    /// Puts a run in its function's ready queue.
    mutating func enqueue(runId: String, now: Int64, atFront: Bool) {
        guard let run = runs[runId], readySince[runId] == nil, runLeases[runId] == nil else { return }
        readySince[runId] = now
        let functionId = run.functionId
        if atFront {
            queues[functionId, default: []].prepend(runId)
        } else {
            queues[functionId, default: []].append(runId)
        }
        if inBacklog.insert(functionId).inserted {
            backlog.append(functionId)
        }
    }

    /// Dispatches ready runs to workers with free slots, round-robin across functions, until
    /// either the queues or the free slots run out.
    mutating func pump(now: Int64, into effects: inout Effects) {
        var blocked: [String] = []
        while let functionId = backlog.popFirst() {
            // Mutate the queue in place: a copy of a large backlog per dispatch is quadratic.
            // Drop entries of runs that are no longer ready (dispatched, ended, re-queued).
            while let head = queues[functionId]?.first, readySince[head] == nil || runs[head] == nil {
                queues[functionId]!.removeFirst()
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
            let runId = queues[functionId]!.removeFirst()
            if queues[functionId]!.isEmpty {
                queues[functionId] = nil
                inBacklog.remove(functionId)
            } else {
                backlog.append(functionId)
            }
            dispatch(runId: runId, to: connectionId, now: now, into: &effects)
        }
        backlog.append(contentsOf: blocked)
    }

    mutating func dispatch(runId: String, to connectionId: String, now: Int64, into effects: inout Effects) {
        guard var run = runs[runId] else { return }
        readySince[runId] = nil
        let requestId = ids.next(nowMilliseconds: now)
        let deadline = now + Int64(configuration.timing.leaseDurationMilliseconds)
        leases[requestId] = Lease(
            runId: runId, connectionId: connectionId, deadlineMilliseconds: deadline, dispatchedAtMilliseconds: now)
        runLeases[runId] = requestId
        workers[connectionId]?.inFlight.insert(requestId)
        workers[connectionId]?.dispatchedCount += 1
        if run.status == .queued {
            run.status = .running
            run.startedAtMilliseconds = now
            runs[runId] = run
        }
        effects.messages.append(
            .dispatch(
                StepDispatch(
                    connectionId: connectionId, requestId: requestId, run: run, attempt: run.attempt + 1,
                    leaseDeadlineMilliseconds: deadline)))
    }
}
