extension CoordinatorCore {
    /// The function-wide (unkeyed) concurrency limit of a function that is full, if any.
    func fullFunctionWideLimit(_ functionId: String) -> String? {
        guard let limits = functions[functionId]?.flow.definition.concurrency, !limits.isEmpty else { return nil }
        for (index, limit) in limits.enumerated() where limit.key == nil {
            let key = FlowKey.concurrency(functionId: functionId, index: index, value: "")
            if flow.running(key) >= limit.limit { return key }
        }
        return nil
    }

    /// Computes and records a run's flow-control facts (its keys are evaluated once, over its
    /// first event, with the function's current configuration). `event` is that first event as
    /// expressions see it, when the caller has parsed it already.
    mutating func trackFlow(of run: RunRecord, event parsed: JSONValue? = nil) {
        guard let entry = functions[run.functionId], !entry.flow.definition.isEmpty else {
            flow.track(runId: run.id, nil)
            return
        }
        let expressions = entry.flow
        let event = parsed ?? run.events.first.map(Self.document(of:)) ?? .null
        var facts = RunFlow()
        for (index, limit) in expressions.definition.concurrency.enumerated() {
            let keyed = limit.key != nil
            let value = FlowExpressions.value(of: expressions.concurrencyKeys[index], event: event)
            facts.constraints.append(
                RunFlow.Constraint(
                    key: FlowKey.concurrency(functionId: run.functionId, index: index, value: value), limit: limit.limit,
                    keyed: keyed))
            if keyed, facts.lane.isEmpty { facts.lane = value }
        }
        facts.priorityMilliseconds = expressions.priorityMilliseconds(event: event)
        if expressions.definition.throttle != nil {
            facts.throttleStartKey = FlowKey.throttleStart(
                functionId: run.functionId, value: FlowExpressions.value(of: expressions.throttleKey, event: event))
        }
        if expressions.definition.singleton != nil {
            facts.singletonKey = FlowKey.of(
                functionId: run.functionId, value: FlowExpressions.value(of: expressions.singletonKey, event: event))
        }
        flow.track(runId: run.id, facts)
    }

    /// A worker registered a function whose flow control differs from before: its active runs
    /// get their facts again, and whatever was parked waits no longer (limits may have grown).
    mutating func flowConfigurationChanged(functionId: String) {
        for (id, run) in runs where run.functionId == functionId {
            flow.untrack(runId: id)
            trackFlow(of: run)
        }
        ready.unparkAll(functionId: functionId)
    }
}
