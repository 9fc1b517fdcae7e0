extension CoordinatorCore {
    /// The event ids already accepted among `ids`, with the runs they started; the I/O layer
    /// looks up the others in the store.
    public func recentEventRuns(_ id: String) -> [String]? {
        recentEvents[id]
    }

    /// Accepts events: each one starts a run of every function whose trigger matches it.
    ///
    /// `known` holds events whose id the store already has (from an earlier send): they are
    /// answered with their original runs and start nothing.
    public mutating func ingest(
        _ incoming: [IncomingEvent], known: [String: [String]] = [:], now: Int64
    ) -> (receipts: [EventReceipt], effects: Effects) {
        var effects = Effects()
        var receipts: [EventReceipt] = []
        receipts.reserveCapacity(incoming.count)
        for event in incoming {
            if let id = event.id, let runIds = recentEvents[id] ?? known[id] {
                receipts.append(EventReceipt(eventId: id, runIds: runIds, duplicate: true))
                continue
            }
            receipts.append(accept(event, now: now, into: &effects))
        }
        pump(now: now, into: &effects)
        return (receipts, effects)
    }

    /// Accepts one new event: it resolves the waits and `cancelOn`s it matches, then starts a
    /// run of every function whose trigger matches it. Events sent by steps and emitted by the
    /// coordinator come through here too.
    mutating func accept(_ event: IncomingEvent, now: Int64, into effects: inout Effects) -> EventReceipt {
        if let id = event.id, let runIds = recentEvents[id] {
            return EventReceipt(eventId: id, runIds: runIds, duplicate: true)
        }
        let id = event.id ?? ids.next(nowMilliseconds: now)
        let record = EventRecord(
            id: id, name: event.name, data: event.data, timestampMilliseconds: event.timestampMilliseconds ?? now,
            version: event.version)
        // Waits first: a run this event starts must not be cancelled by its own trigger.
        resolveWaits(for: record, now: now, into: &effects)
        var runIds: [String] = []
        var document: JSONValue?
        for functionId in matchingFunctions(eventName: event.name) {
            guard let entry = functions[functionId], triggers(of: entry, match: record, document: &document) else {
                continue
            }
            runIds.append(startRun(of: entry.definition, events: [record], now: now, into: &effects).id)
        }
        effects.writes.append(.putEvent(record, runIds: runIds, receivedAtMilliseconds: now))
        remember(eventId: id, runIds: runIds)
        return EventReceipt(eventId: id, runIds: runIds)
    }

    /// Creates a run of `definition` for `events`, queued, with its timeouts and `cancelOn`.
    mutating func startRun(
        of definition: FunctionDefinition, events: [EventRecord], parentRunId: String = "", parentStepId: String = "",
        now: Int64, into effects: inout Effects
    ) -> RunRecord {
        let run = RunRecord(
            id: ids.next(nowMilliseconds: now), functionId: definition.id, app: definition.app,
            functionSlug: definition.slug, status: .queued, events: events, createdAtMilliseconds: now,
            maxAttempts: definition.maxAttempts, parentRunId: parentRunId, parentStepId: parentStepId)
        runs[run.id] = run
        effects.writes.append(.putRun(run, stepIndices: [], created: true))
        armRunTimers(run)
        registerCancelOn(runId: run.id)
        enqueue(.next(run.id), now: now, atFront: false)
        return run
    }

    /// Function ids whose event triggers match `eventName`, sorted for determinism.
    public func matchingFunctions(eventName: String) -> [String] {
        var result = eventIndex[eventName] ?? []
        if !prefixIndex.isEmpty {
            for (prefix, ids) in prefixIndex where eventName.hasPrefix(prefix) {
                result.formUnion(ids)
            }
        }
        return result.sorted()
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

    mutating func remember(eventId: String, runIds: [String]) {
        guard configuration.recentEventIdCapacity > 0 else { return }
        if recentEvents.updateValue(runIds, forKey: eventId) == nil {
            recentEventOrder.append(eventId)
        }
        while recentEventOrder.count > configuration.recentEventIdCapacity, let oldest = recentEventOrder.popFirst() {
            recentEvents[oldest] = nil
        }
    }
}
