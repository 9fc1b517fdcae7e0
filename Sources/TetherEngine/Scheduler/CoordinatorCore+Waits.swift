/// The waits for one event name, indexed so that an incoming event is tested only against
/// waits it can match.
///
/// A wait whose expression requires `async.X == event.Y` is filed under path X and the value
/// of Y in its run's event: an incoming event looks up its own value at X. Other waits are
/// tested one by one.
struct WaitBucket: Sendable {
    struct Entry: Sendable {
        var expression: Expression?
        /// The join the wait is filed under, if any.
        var joinPath: [PathComponent]?
        var joinValue: JSONValue
    }

    var entries: [WaitRef: Entry] = [:]
    var unkeyed: Set<WaitRef> = []
    var keyed: [[PathComponent]: [JSONValue: Set<WaitRef>]] = [:]

    var isEmpty: Bool { entries.isEmpty }

    mutating func insert(_ ref: WaitRef, _ entry: Entry) {
        remove(ref)
        entries[ref] = entry
        if let path = entry.joinPath {
            keyed[path, default: [:]][entry.joinValue, default: []].insert(ref)
        } else {
            unkeyed.insert(ref)
        }
    }

    mutating func remove(_ ref: WaitRef) {
        guard let entry = entries.removeValue(forKey: ref) else { return }
        if let path = entry.joinPath {
            keyed[path]?[entry.joinValue]?.remove(ref)
            if keyed[path]?[entry.joinValue]?.isEmpty == true { keyed[path]?[entry.joinValue] = nil }
            if keyed[path]?.isEmpty == true { keyed[path] = nil }
        } else {
            unkeyed.remove(ref)
        }
    }

    /// Waits that may match an event whose document is `incoming`, in a stable order.
    func candidates(for incoming: JSONValue) -> [WaitRef] {
        var found = unkeyed
        for (path, byValue) in keyed {
            if let refs = byValue[Expression.resolve(path, in: incoming)] { found.formUnion(refs) }
        }
        return found.sorted()
    }
}

/// A `waitForEvent` step (`stepId`) or a `cancelOn` entry (`cancelIndex`) of a run.
struct WaitRef: Hashable, Comparable, Sendable {
    var runId: String
    var stepId: String
    /// ≥ 0 for the run's `cancelOn` entry at that index; -1 for a wait step.
    var cancelIndex: Int = -1

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.runId, lhs.cancelIndex, lhs.stepId) < (rhs.runId, rhs.cancelIndex, rhs.stepId)
    }
}

/// Every wait of the active runs (`waitForEvent` steps and `cancelOn` entries) by the event
/// name it waits for, with the parsed expressions they share.
struct WaitIndex: Sendable {
    private var buckets: [String: WaitBucket] = [:]
    /// Parsed expressions by source, shared by the waits that use them.
    private var expressions: [String: Expression] = [:]

    var isEmpty: Bool { buckets.isEmpty }

    subscript(event: String) -> WaitBucket? { buckets[event] }

    /// A parsed expression, shared across the waits that use the same source.
    mutating func expression(_ source: String) -> Expression? {
        if source.isEmpty { return nil }
        if let cached = expressions[source] { return cached }
        guard let parsed = try? Expression(parsing: source) else { return nil }
        if expressions.count > 10_000 { expressions.removeAll() }
        expressions[source] = parsed
        return parsed
    }

    /// Files a wait for `event`; `runEvent` is its run's first event, which a join of its
    /// expression (`async.X == event.Y`) reads Y from.
    mutating func insert(_ ref: WaitRef, event: String, expression: Expression?, runEvent: JSONValue) {
        var entry = WaitBucket.Entry(expression: expression, joinPath: nil, joinValue: .null)
        if let join = expression?.equalityJoins.first {
            entry.joinPath = join.asyncPath
            entry.joinValue = Expression.resolve(join.eventPath, in: runEvent)
        }
        buckets[event, default: WaitBucket()].insert(ref, entry)
    }

    mutating func remove(_ ref: WaitRef, event: String) {
        buckets[event]?.remove(ref)
        if buckets[event]?.isEmpty == true { buckets[event] = nil }
    }

    /// Every wait reference filed, with its event name.
    var all: [(event: String, ref: WaitRef)] {
        buckets.flatMap { event, bucket in bucket.entries.keys.map { (event, $0) } }
    }
}

extension CoordinatorCore {
    /// Files a `waitForEvent` step so that events named `step.waitEvent` find it.
    mutating func indexWait(runId: String, step: StepRecord) {
        guard let run = runs[runId] else { return }
        let document = run.events.first.map(Self.document(of:)) ?? .null
        waitIndex.insert(
            WaitRef(runId: runId, stepId: step.id), event: step.waitEvent,
            expression: waitIndex.expression(step.waitMatch), runEvent: document)
    }

    mutating func unindexWait(runId: String, stepId: String, event: String) {
        waitIndex.remove(WaitRef(runId: runId, stepId: stepId), event: event)
    }

    /// Files the `cancelOn` entries of an active run's function.
    mutating func registerCancelOn(runId: String) {
        guard let run = runs[runId], let entries = functions[run.functionId]?.cancelOn, !entries.isEmpty else { return }
        let document = run.events.first.map(Self.document(of:)) ?? .null
        for (index, entry) in entries.enumerated() {
            waitIndex.insert(
                WaitRef(runId: runId, stepId: "", cancelIndex: index), event: entry.event, expression: entry.expression,
                runEvent: document)
        }
    }

    mutating func unregisterCancelOn(runId: String, functionId: String) {
        guard let entries = functions[functionId]?.cancelOn else { return }
        for (index, entry) in entries.enumerated() {
            waitIndex.remove(WaitRef(runId: runId, stepId: "", cancelIndex: index), event: entry.event)
        }
    }

    /// Resolves the waits an accepted event satisfies: matching `waitForEvent` steps are
    /// memoized with the event and their runs continue; runs whose `cancelOn` matches are
    /// cancelled.
    mutating func resolveWaits(for event: EventRecord, now: Int64, into effects: inout Effects) {
        guard let bucket = waitIndex[event.name] else { return }
        let incoming = Self.document(of: event)
        for ref in bucket.candidates(for: incoming) {
            guard let entry = waitIndex[event.name]?.entries[ref], let run = runs[ref.runId] else { continue }
            if let expression = entry.expression {
                let runEvent = run.events.first.map(Self.document(of:)) ?? .null
                guard expression.matches(event: runEvent, async: incoming) else { continue }
            }
            if ref.cancelIndex >= 0 {
                _ = end(
                    runId: ref.runId, status: .cancelled,
                    error: RunError(
                        code: ErrorCode.cancelled.rawValue,
                        message: "cancelled by event '\(event.name)' (\(event.id)) matching cancelOn"),
                    now: now, into: &effects)
                continue
            }
            guard let index = run.steps.firstIndex(where: { $0.id == ref.stepId && $0.status == .waiting }) else {
                continue
            }
            unindexWait(runId: ref.runId, stepId: ref.stepId, event: event.name)
            var updated = run
            updated.steps[index].complete(output: incoming.serialized(), at: now)
            commit(updated, changedSteps: [index], now: now, into: &effects)
        }
    }
}
