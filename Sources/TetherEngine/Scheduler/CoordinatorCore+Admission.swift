extension CoordinatorCore {
    /// What flow control does with an event for one function whose trigger matched it.
    enum Admission: Sendable, Equatable {
        case started(runId: String)
        case held(FlowOutcome.Kind)
    }

    /// Passes an event through a function's flow control, in order: rate limit (excess is
    /// dropped), then debounce or batch (held for a later run), then singleton (skip or
    /// cancel) when the run is created; throttle and concurrency act when it is dispatched.
    mutating func admit(
        _ event: EventRecord, to entry: FunctionEntry, document: JSONValue, now: Int64, into effects: inout Effects
    ) -> Admission {
        let expressions = entry.flow
        let functionId = entry.definition.id
        if let rateLimit = expressions.definition.rateLimit {
            let key = FlowKey.rateLimit(
                functionId: functionId, value: FlowExpressions.value(of: expressions.rateLimitKey, event: document))
            let gcra = GCRA(limit: rateLimit.limit, periodMilliseconds: rateLimit.periodMilliseconds, capacity: rateLimit.limit)
            guard let tat = gcra.admit(tat: flow.rates[key], now: now) else { return .held(.rateLimited) }
            setFlowState(key, tat, into: &effects)
        }
        if expressions.definition.debounce != nil {
            debounce(event, for: entry, document: document, now: now, into: &effects)
            return .held(.debounced)
        }
        if expressions.definition.batchEvents != nil {
            return addToBatch(event, for: entry, document: document, now: now, into: &effects)
        }
        guard let run = createRun(of: entry.definition, events: [event], document: document, now: now, into: &effects)
        else { return .held(.singleton) }
        return .started(runId: run.id)
    }

    /// Starts a run unless its function's singleton key has an active run: in mode `skip`
    /// nothing starts (nil); in mode `cancel` the active run is cancelled first.
    mutating func createRun(
        of definition: FunctionDefinition, events: [EventRecord], document: JSONValue?, now: Int64,
        into effects: inout Effects
    ) -> RunRecord? {
        // The first event as expressions see it, parsed once for every key of the run.
        let document = definition.flow.isEmpty ? nil : document ?? events.first.map(Self.document(of:)) ?? .null
        if let singleton = definition.flow.singleton, let expressions = functions[definition.id]?.flow,
            let event = document
        {
            let key = FlowKey.of(
                functionId: definition.id, value: FlowExpressions.value(of: expressions.singletonKey, event: event))
            if let active = flow.singletonRuns[key], runs[active] != nil {
                switch singleton.mode {
                case .skip:
                    return nil
                case .cancel:
                    end(
                        runId: active, status: .cancelled,
                        error: RunError(
                            code: ErrorCode.cancelled.rawValue,
                            message: "cancelled by a newer event for the same singleton key (mode cancel)"),
                        now: now, into: &effects)
                }
            }
        }
        return startRun(of: definition, events: events, document: document, now: now, into: &effects)
    }

    /// When a new run of `definition` may start under its throttle: now, or its reserved
    /// slot later (the throttle's state moves on by one run either way).
    ///
    /// Slots are one `interval` (period / limit, rounded up) apart, and `burst` of them may be
    /// taken early: `burst + 1` at once after a quiet spell. So any `limit + burst + 1` slots
    /// span at least `limit` intervals, one period: no window of one period holds more than
    /// `limit + burst` slots, and with burst 0 not more than `limit`. (A GCRA capacity of
    /// `limit + burst` would let `2 × limit + burst − 1` start within one period.)
    mutating func throttledStart(
        of definition: FunctionDefinition, document: JSONValue, now: Int64, into effects: inout Effects
    ) -> Int64 {
        guard let throttle = definition.flow.throttle, let expressions = functions[definition.id]?.flow
        else { return now }
        let key = FlowKey.throttle(
            functionId: definition.id, value: FlowExpressions.value(of: expressions.throttleKey, event: document))
        let gcra = GCRA(throttle)
        let slot = gcra.reserve(tat: flow.rates[key], now: now)
        setFlowState(key, slot.tat, into: &effects)
        return slot.start
    }

    /// Whether a run's first dispatch must wait under its function's throttle: the time it may
    /// start, or nil when it may start now (the start is then counted).
    ///
    /// A run's start time is reserved when it is created (``throttledStart(of:document:now:into:)``),
    /// but a run can be late for it: no worker had a free slot, a concurrency limit held it, or
    /// the coordinator restarted. Starts are therefore counted again as they happen, under the
    /// same limit, so that late runs catch up one interval apart instead of all at once, and no
    /// window of one period holds more than `limit + burst` starts.
    mutating func throttledUntil(_ item: WorkItem, now: Int64, into effects: inout Effects) -> Int64? {
        guard item.stepId.isEmpty, let key = flow.runs[item.runId]?.throttleStartKey, let run = runs[item.runId],
            run.status == .queued, run.startedAtMilliseconds == 0,
            let throttle = functions[run.functionId]?.definition.flow.throttle
        else { return nil }
        let gcra = GCRA(throttle)
        guard let tat = gcra.admit(tat: flow.rates[key], now: now) else {
            return gcra.nextAdmission(tat: flow.rates[key], now: now)
        }
        setFlowState(key, tat, into: &effects)
        return nil
    }

    /// Records a throttle's or rate limit's new state; it is forgotten once it goes idle.
    mutating func setFlowState(_ key: String, _ tat: Int64, into effects: inout Effects) {
        flow.setRate(key, tat)
        effects.writes.append(.putFlowState(key: key, value: tat))
    }

    /// Forgets throttle and rate-limit states whose time has passed (they equal a fresh state).
    mutating func expireFlowStates(now: Int64, into effects: inout Effects) {
        for key in flow.expireRates(now: now) {
            effects.writes.append(.deleteFlowState(key: key))
        }
    }
}
