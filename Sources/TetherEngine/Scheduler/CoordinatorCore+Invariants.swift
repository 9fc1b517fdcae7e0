extension CoordinatorCore {
    /// Every broken invariant of the scheduler's state, described; empty when all hold.
    ///
    /// Tests and the simulation call it after every command. It walks all state, so it is
    /// never called on a hot path in production.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        var leasesPerRun: [String: Int] = [:]
        var leasesPerConstraint: [String: Int] = [:]
        for (requestId, lease) in leases {
            leasesPerRun[lease.runId, default: 0] += 1
            for key in lease.constraints { leasesPerConstraint[key, default: 0] += 1 }
            if leasedItems[lease.item] != requestId {
                problems.append("lease \(requestId): its item \(lease.item) is not recorded as leased under it")
            }
            if lease.connectionId.isEmpty {
                if detachedLeases[lease.instanceKey]?.contains(requestId) != true {
                    problems.append("lease \(requestId) is detached but not indexed under its instance")
                }
            } else if workers[lease.connectionId]?.inFlight.contains(requestId) != true {
                problems.append("lease \(requestId) names connection \(lease.connectionId), which does not hold it")
            }
            if let run = runs[lease.runId], !lease.item.stepId.isEmpty,
                run.steps.first(where: { $0.id == lease.item.stepId })?.status.isMemoized == true
            {
                problems.append("lease \(requestId): step \(lease.item.stepId) is leased and memoized at once")
            }
            if readySince[lease.item] != nil {
                problems.append("lease \(requestId): its item is both leased and in a ready queue")
            }
        }
        if leasesPerRun != runLeases {
            problems.append("runLeases \(runLeases) does not count the leases per run \(leasesPerRun)")
        }
        if leasesPerConstraint != constraintInFlight {
            problems.append("constraintInFlight \(constraintInFlight) does not count the leases \(leasesPerConstraint)")
        }
        for (item, requestId) in leasedItems where leases[requestId]?.item != item {
            problems.append("leasedItems: \(item) points at request \(requestId), which is not its lease")
        }
        for (key, requestIds) in detachedLeases {
            if requestIds.isEmpty { problems.append("detachedLeases: empty entry for \(key)") }
            for requestId in requestIds where leases[requestId].map({ !$0.connectionId.isEmpty || $0.instanceKey != key }) ?? true {
                problems.append("detachedLeases: \(requestId) under \(key) is not a detached lease of that instance")
            }
        }
        for (connectionId, worker) in workers {
            if worker.connectionId != connectionId { problems.append("worker \(connectionId) is filed under another id") }
            for requestId in worker.inFlight where leases[requestId]?.connectionId != connectionId {
                problems.append("worker \(connectionId) counts request \(requestId), which is not leased to it")
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
            if run.status == .queued && leasesPerRun[id] != nil {
                problems.append("run \(id) has a step out but is still queued")
            }
        }
        return problems
    }
}
