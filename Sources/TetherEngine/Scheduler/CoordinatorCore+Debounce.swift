extension CoordinatorCore {
    /// Holds an event for a debounced function: it replaces the key's pending event, and the
    /// run starts `period` after the last one (or `timeout` after the first, if sooner).
    mutating func debounce(
        _ event: EventRecord, for entry: FunctionEntry, document: JSONValue, now: Int64, into effects: inout Effects
    ) {
        guard let settings = entry.flow.definition.debounce else { return }
        let functionId = entry.definition.id
        let key = FlowKey.of(functionId: functionId, value: FlowExpressions.value(of: entry.flow.debounceKey, event: document))
        var record =
            flow.debounces[key]
            ?? DebounceRecord(key: key, functionId: functionId, event: event, firstAtMilliseconds: now, dueAtMilliseconds: 0)
        let isNew = record.dueAtMilliseconds == 0
        record.event = event
        var due = now + settings.periodMilliseconds
        if settings.timeoutMilliseconds > 0 {
            due = min(due, record.firstAtMilliseconds + settings.timeoutMilliseconds)
        }
        record.dueAtMilliseconds = due
        flow.debounces[key] = record
        effects.writes.append(.putDebounce(record))
        if isNew {
            // One timer per debounce: when it fires early (the due time moved), it is moved.
            timers.insert(Timer(.debounce(key: key), at: due))
        }
    }

    /// A debounce timer came due: the run starts with the last event, unless the due time
    /// moved (the timer moves with it).
    mutating func fireDebounce(key: String, due: Int64, now: Int64, into effects: inout Effects) {
        guard let record = flow.debounces[key] else { return }
        if record.dueAtMilliseconds > due {
            timers.insert(Timer(.debounce(key: record.key), at: record.dueAtMilliseconds))
            return
        }
        guard record.dueAtMilliseconds == due else { return }
        flow.debounces[record.key] = nil
        effects.writes.append(.deleteDebounce(key: record.key))
        guard let definition = functions[record.functionId]?.definition else { return }
        _ = createRun(of: definition, events: [record.event], document: nil, now: now, into: &effects)
    }

    /// Adds an event to its key's batch. The batch starts its run when it reaches `maxSize`
    /// (with this event) or its timeout; a batch whose data would grow past `maxBatchBytes`
    /// starts its run first, and this event opens the next batch.
    mutating func addToBatch(
        _ event: EventRecord, for entry: FunctionEntry, document: JSONValue, now: Int64, into effects: inout Effects
    ) -> Admission {
        guard let settings = entry.flow.definition.batchEvents else { return .held(.batched) }
        let functionId = entry.definition.id
        let key = FlowKey.of(functionId: functionId, value: FlowExpressions.value(of: entry.flow.batchKey, event: document))
        if let current = flow.batches[key], current.dataBytes + event.data.count > configuration.limits.maxBatchBytes {
            startBatch(key, now: now, into: &effects)
        }
        var record =
            flow.batches[key]
            ?? BatchRecord(
                key: key, functionId: functionId, events: [], firstAtMilliseconds: now,
                dueAtMilliseconds: now + settings.timeoutMilliseconds)
        if record.events.isEmpty {
            timers.insert(Timer(.batch(key: key), at: record.dueAtMilliseconds))
        }
        record.events.append(event)
        flow.batches[key] = record
        guard record.events.count >= settings.maxSize else {
            effects.writes.append(.putBatch(record))
            return .held(.batched)
        }
        guard let run = startBatch(key, now: now, into: &effects) else { return .held(.singleton) }
        return .started(runId: run.id)
    }

    /// A batch's timeout came due: it starts its run with the events collected so far.
    mutating func fireBatch(key: String, due: Int64, now: Int64, into effects: inout Effects) {
        guard let record = flow.batches[key], record.dueAtMilliseconds == due else { return }
        startBatch(record.key, now: now, into: &effects)
    }

    /// Starts the run of a batch and forgets the batch.
    @discardableResult
    mutating func startBatch(_ key: String, now: Int64, into effects: inout Effects) -> RunRecord? {
        guard let record = flow.batches.removeValue(forKey: key) else { return nil }
        effects.writes.append(.deleteBatch(key: key))
        guard let definition = functions[record.functionId]?.definition else { return nil }
        return createRun(of: definition, events: record.events, document: nil, now: now, into: &effects)
    }
}
