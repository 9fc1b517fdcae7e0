extension CoordinatorCore {
    /// Every broken invariant of the scheduler's state, described; empty when all hold.
    ///
    /// Tests and the simulation call it after every command. It walks all state, so it is
    /// never called on a hot path in production.
    public func invariantViolations() -> [String] {
        var problems = leases.invariantViolations()
        var leasesPerRun: [String: Int] = [:]
        var leasesPerConstraint: [String: Int] = [:]
        for (requestId, lease) in leases.byRequest {
            leasesPerRun[lease.runId, default: 0] += 1
            for key in lease.constraints { leasesPerConstraint[key, default: 0] += 1 }
            if !lease.connectionId.isEmpty, workers[lease.connectionId]?.inFlight.contains(requestId) != true {
                problems.append("lease \(requestId) names connection \(lease.connectionId), which does not hold it")
            }
            if (runs[lease.runId] == nil) != lease.runEnded {
                problems.append(
                    "lease \(requestId) is for run \(lease.runId), active: \(runs[lease.runId] != nil), marked ended: \(lease.runEnded)")
            }
            if let run = runs[lease.runId], !lease.item.stepId.isEmpty,
                run.steps.first(where: { $0.id == lease.item.stepId })?.status.isMemoized == true
            {
                problems.append("lease \(requestId): step \(lease.item.stepId) is leased and memoized at once")
            }
            if ready.isReady(lease.item) {
                problems.append("lease \(requestId): its item is both leased and in a ready queue")
            }
        }
        problems += flow.invariantViolations(leased: leasesPerConstraint)
        problems += ready.invariantViolations()
        problems += functions.invariantViolations()
        problems += eventMemory.invariantViolations()
        problems += cron.invariantViolations()
        for (event, ref) in waitIndex.all {
            guard let run = runs[ref.runId] else {
                problems.append("a wait for '\(event)' names run \(ref.runId), which is not active")
                continue
            }
            if ref.cancelIndex < 0, !run.steps.contains(where: { $0.id == ref.stepId && $0.status == .waiting }) {
                problems.append("a wait for '\(event)' names step \(ref.stepId) of run \(ref.runId), which is not waiting")
            }
        }
        for (connectionId, worker) in workers {
            if worker.connectionId != connectionId { problems.append("worker \(connectionId) is filed under another id") }
            for requestId in worker.inFlight where leases[requestId]?.connectionId != connectionId {
                problems.append("worker \(connectionId) counts request \(requestId), which is not leased to it")
            }
            if worker.busy > worker.capacity && !worker.overCapacityByWorker {
                problems.append("worker \(connectionId) runs \(worker.busy) steps, over its capacity \(worker.capacity)")
            }
            if !worker.inFlight.isDisjoint(with: worker.unleasedBusy) {
                problems.append("worker \(connectionId) counts a request as both leased and unleased")
            }
            for function in worker.registration.functions where functions[function.id]?.connections.contains(connectionId) != true {
                problems.append("worker \(connectionId) registered \(function.id) but is not among its connections")
            }
        }
        for (id, run) in runs {
            if run.id != id { problems.append("run \(id) is filed under another id") }
            if run.status.isTerminal { problems.append("run \(id) has ended but is still active") }
            let continuation = leases.requestId(leasing: .next(id))
            if run.continuationLease?.requestId != continuation {
                problems.append(
                    "run \(id): its header's continuation lease \(run.continuationLease?.requestId ?? "none") is not its lease \(continuation ?? "none")")
            }
            if run.status == .queued && leasesPerRun[id] != nil {
                problems.append("run \(id) has a step out but is still queued")
            }
        }
        return problems
    }
}
