extension CoordinatorCore {
    /// The function-wide (unkeyed) concurrency limit of a function that is full, if any.
    func fullFunctionWideLimit(_ functionId: String) -> String? {
        guard let limits = functions[functionId]?.flow.definition.concurrency, !limits.isEmpty else { return nil }
        for (index, limit) in limits.enumerated() where limit.key == nil {
            let key = FlowKey.concurrency(functionId: functionId, index: index, value: "")
            if (constraintInFlight[key] ?? 0) >= limit.limit { return key }
        }
        return nil
    }

    /// The keyed concurrency limit of a run that is full, if any.
    func fullKeyedLimit(of runId: String) -> String? {
        guard let constraints = runFlow[runId]?.constraints else { return nil }
        for constraint in constraints where constraint.keyed {
            if (constraintInFlight[constraint.key] ?? 0) >= constraint.limit { return constraint.key }
        }
        return nil
    }

    /// A step counted against concurrency key `key` ended: what was parked on it goes back in rotation.
    mutating func unpark(_ key: String) {
        if let parked = parkedLanes.removeValue(forKey: key) {
            for (functionId, lane) in parked where queues[functionId]?.unpark(lane: lane, from: key) == true {
                if queues[functionId]!.parkedOn == nil, inBacklog.insert(functionId).inserted {
                    backlog.append(functionId)
                }
            }
        }
        if let parked = parkedFunctions.removeValue(forKey: key) {
            for functionId in parked where queues[functionId]?.parkedOn == key {
                queues[functionId]!.parkedOn = nil
                if !queues[functionId]!.rotation.isEmpty, inBacklog.insert(functionId).inserted {
                    backlog.append(functionId)
                }
            }
        }
    }

    /// Computes and records a run's flow-control facts (its keys are evaluated once, over its
    /// first event, with the function's current configuration). `event` is that first event as
    /// expressions see it, when the caller has parsed it already.
    mutating func trackFlow(of run: RunRecord, event parsed: JSONValue? = nil) {
        guard let entry = functions[run.functionId], !entry.flow.definition.isEmpty else {
            runFlow[run.id] = nil
            return
        }
        let flow = entry.flow
        let event = parsed ?? run.events.first.map(Self.document(of:)) ?? .null
        var facts = RunFlow()
        for (index, limit) in flow.definition.concurrency.enumerated() {
            let keyed = limit.key != nil
            let value = FlowExpressions.value(of: flow.concurrencyKeys[index], event: event)
            facts.constraints.append(
                RunFlow.Constraint(
                    key: FlowKey.concurrency(functionId: run.functionId, index: index, value: value), limit: limit.limit,
                    keyed: keyed))
            if keyed, facts.lane.isEmpty { facts.lane = value }
        }
        facts.priorityMilliseconds = flow.priorityMilliseconds(event: event)
        if flow.definition.singleton != nil {
            let key = FlowKey.of(functionId: run.functionId, value: FlowExpressions.value(of: flow.singletonKey, event: event))
            facts.singletonKey = key
            singletonRuns[key] = run.id
        }
        runFlow[run.id] = facts.isEmpty ? nil : facts
    }

    /// Forgets an ended run's flow-control facts.
    mutating func untrackFlow(runId: String) {
        guard let facts = runFlow.removeValue(forKey: runId) else { return }
        if let key = facts.singletonKey, singletonRuns[key] == runId {
            singletonRuns[key] = nil
        }
    }

    /// A worker registered a function whose flow control differs from before: its active runs
    /// get their facts again, and whatever was parked waits no longer (limits may have grown).
    mutating func flowConfigurationChanged(functionId: String) {
        for (id, run) in runs where run.functionId == functionId {
            untrackFlow(runId: id)
            trackFlow(of: run)
        }
        queues[functionId]?.unparkAll()
        if let queue = queues[functionId], !queue.rotation.isEmpty, inBacklog.insert(functionId).inserted {
            backlog.append(functionId)
        }
    }
}
