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
            let id = event.id ?? ids.next(nowMilliseconds: now)
            let record = EventRecord(
                id: id, name: event.name, data: event.data, timestampMilliseconds: event.timestampMilliseconds ?? now,
                version: event.version)
            var runIds: [String] = []
            var document: JSONValue?
            for functionId in matchingFunctions(eventName: event.name) {
                guard let entry = functions[functionId], triggers(of: entry, match: record, document: &document) else {
                    continue
                }
                let definition = entry.definition
                let runId = ids.next(nowMilliseconds: now)
                let run = RunRecord(
                    id: runId, functionId: functionId, app: definition.app, functionSlug: definition.slug,
                    status: .queued, events: [record], createdAtMilliseconds: now, maxAttempts: definition.maxAttempts)
                runs[runId] = run
                runIds.append(runId)
                effects.writes.append(.putRun(run, stepIndices: [], created: true))
                enqueue(runId: runId, now: now, atFront: false)
            }
            effects.writes.append(.putEvent(record, runIds: runIds, receivedAtMilliseconds: now))
            remember(eventId: id, runIds: runIds)
            receipts.append(EventReceipt(eventId: id, runIds: runIds))
        }
        pump(now: now, into: &effects)
        return (receipts, effects)
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
