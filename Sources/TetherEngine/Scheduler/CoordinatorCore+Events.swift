extension CoordinatorCore {
    /// The event ids already accepted among `ids`, with the runs they started; the I/O layer
    /// looks up the others in the store.
    public func recentEventRuns(_ id: String, now: Int64) -> [String]? {
        guard let recent = eventMemory.recent[id], isWithinIdempotencyWindow(recent.receivedAtMilliseconds, now: now) else {
            return nil
        }
        return recent.runIds
    }

    /// Accepts events: each one starts a run of every function whose trigger matches it.
    ///
    /// `known` holds events whose id the store already has (from an earlier send): within the
    /// idempotency window (24 h) they are answered with their original runs and start nothing;
    /// after it, the event is accepted as new under a fresh id (the old one keeps its id).
    mutating func applyIngest(_ incoming: [IncomingEvent], known: [String: KnownEvent], now: Int64) -> Effects {
        var effects = Effects()
        let limit = configuration.limits.maxActiveRuns
        guard runs.count < limit else {
            effects.reply = .rejected(
                TetherError(
                    .overloaded,
                    "the coordinator holds \(runs.count) active runs, its limit of \(limit); send again once some have ended"))
            return effects
        }
        var receipts: [EventReceipt] = []
        receipts.reserveCapacity(incoming.count)
        for var event in incoming {
            if let id = event.id, eventMemory.recent[id] == nil, let stored = known[id] {
                if isWithinIdempotencyWindow(stored.receivedAtMilliseconds, now: now) {
                    receipts.append(EventReceipt(eventId: id, runIds: stored.runIds, duplicate: true))
                    continue
                }
                event.id = nil  // the id's window has passed: a new event, with a new id
            }
            receipts.append(accept(event, now: now, into: &effects))
        }
        pump(now: now, into: &effects)
        effects.reply = .receipts(receipts)
        return effects
    }

    /// Accepts one new event: it resolves the waits and `cancelOn`s it matches, then starts a
    /// run of every function whose trigger matches it. Events sent by steps and emitted by the
    /// coordinator come through here too.
    mutating func accept(_ event: IncomingEvent, now: Int64, into effects: inout Effects) -> EventReceipt {
        var event = event
        if let id = event.id, let recent = eventMemory.recent[id] {
            if isWithinIdempotencyWindow(recent.receivedAtMilliseconds, now: now) {
                return EventReceipt(eventId: id, runIds: recent.runIds, duplicate: true)
            }
            event.id = nil  // the id's window has passed: a new event, with a new id
        }
        let id = event.id ?? ids.next(nowMilliseconds: now)
        let record = EventRecord(
            id: id, name: event.name, data: event.data, timestampMilliseconds: event.timestampMilliseconds ?? now,
            version: event.version, traceParent: event.traceParent)
        // Waits first: a run this event starts must not be cancelled by its own trigger.
        resolveWaits(for: record, now: now, into: &effects)
        var runIds: [String] = []
        var outcomes: [FlowOutcome] = []
        var document: JSONValue?
        for functionId in functions.matching(eventName: event.name) {
            guard let entry = functions[functionId], triggers(of: entry, match: record, document: &document) else {
                continue
            }
            if entry.idempotency == nil && entry.flow.definition.isEmpty {
                runIds.append(startRun(of: entry.definition, events: [record], now: now, into: &effects).id)
                continue
            }
            if document == nil { document = Self.document(of: record) }
            if let key = idempotencyKey(of: entry, for: document!) {
                if let at = eventMemory.idempotencyKeys[key], isWithinIdempotencyWindow(at, now: now) {
                    outcomes.append(FlowOutcome(functionId: functionId, kind: .idempotent))
                    continue  // this key already ran within the window
                }
                eventMemory.record(idempotencyKey: key, at: now)
                effects.writes.append(.putIdempotencyKey(key: key, atMilliseconds: now))
            }
            switch admit(record, to: entry, document: document!, now: now, into: &effects) {
            case .started(let runId): runIds.append(runId)
            case .held(let kind): outcomes.append(FlowOutcome(functionId: functionId, kind: kind))
            }
        }
        effects.writes.append(.putEvent(record, runIds: runIds, receivedAtMilliseconds: now))
        eventMemory.remember(eventId: id, runIds: runIds, now: now)
        return EventReceipt(eventId: id, runIds: runIds, flow: outcomes)
    }

    /// Creates a run of `definition` for `events`, queued, with its timeouts and `cancelOn`.
    /// Under a throttle its first dispatch waits for its slot (`nextAttemptAtMilliseconds`,
    /// stored with the run, so the queue survives a restart). `document` is the first event as
    /// expressions see it, when the caller has it already.
    mutating func startRun(
        of definition: FunctionDefinition, events: [EventRecord], document: JSONValue? = nil, parentRunId: String = "",
        parentStepId: String = "", now: Int64, into effects: inout Effects
    ) -> RunRecord {
        let document = definition.flow.isEmpty ? nil : document ?? events.first.map(Self.document(of:)) ?? .null
        var run = RunRecord(
            id: ids.next(nowMilliseconds: now), functionId: definition.id, app: definition.app,
            functionSlug: definition.slug, status: .queued, events: events, createdAtMilliseconds: now,
            maxAttempts: definition.maxAttempts, parentRunId: parentRunId, parentStepId: parentStepId)
        if definition.flow.throttle != nil, let document {
            let start = throttledStart(of: definition, document: document, now: now, into: &effects)
            if start > now { run.nextAttemptAtMilliseconds = start }
        }
        runs[run.id] = run
        if let document { trackFlow(of: run, event: document) }
        effects.writes.append(.putRun(run, stepIndices: [], created: true))
        armRunTimers(run)
        registerCancelOn(runId: run.id)
        schedule(.next(run.id), notBefore: run.nextAttemptAtMilliseconds, now: now)
        return run
    }

    /// Function ids whose event triggers match `eventName`, sorted for determinism.
    public func matchingFunctions(eventName: String) -> [String] {
        functions.matching(eventName: eventName)
    }

    /// Whether one of `entry`'s event triggers matches the event: its name, then its `if`
    /// expression over `event`. The event's JSON is parsed once, on the first expression.
    func triggers(of entry: FunctionEntry, match event: EventRecord, document: inout JSONValue?) -> Bool {
        for trigger in entry.eventTriggers {
            let nameMatches =
                trigger.name.hasSuffix("/*") ? event.name.hasPrefix(trigger.name.dropLast(1)) : trigger.name == event.name
            guard nameMatches else { continue }
            guard let expression = trigger.expression else { return true }
            if document == nil { document = Self.document(of: event) }
            if expression.matches(event: document ?? .null) { return true }
        }
        return false
    }

    /// The event as match expressions see it: `{"id", "name", "data", "ts", "v"}`.
    static func document(of event: EventRecord) -> JSONValue {
        [
            "id": .string(event.id), "name": .string(event.name),
            "data": (try? JSONValue(parsing: event.data)) ?? .null, "ts": .int(event.timestampMilliseconds),
            "v": .string(event.version),
        ]
    }

    /// The idempotency key of a run of `entry` for an event, or nil when the function has
    /// none or the key's value is `null` (such runs are not deduplicated).
    func idempotencyKey(of entry: FunctionEntry, for event: JSONValue) -> String? {
        guard let expression = entry.idempotency else { return nil }
        let value = expression.evaluate(event: event)
        if value.isNull { return nil }
        return entry.definition.id + "\u{0}" + String(decoding: value.serialized(), as: UTF8.self)
    }

    /// Whether something that happened at `at` still dedupes at `now` (event ids and idempotency keys, 24 h).
    func isWithinIdempotencyWindow(_ at: Int64, now: Int64) -> Bool {
        now - at < configuration.limits.idempotencyWindowMilliseconds
    }

    /// Forgets idempotency keys older than the window, in memory and in the store.
    mutating func expireIdempotencyKeys(now: Int64, into effects: inout Effects) {
        let limit = now - configuration.limits.idempotencyWindowMilliseconds
        for key in eventMemory.expireIdempotencyKeys(recordedAtOrBefore: limit) {
            effects.writes.append(.deleteIdempotencyKey(key: key))
        }
    }
}
