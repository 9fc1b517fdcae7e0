import HeapModule

/// The state of flow control across runs: each active run's facts (its concurrency keys,
/// lane, priority, singleton key), the steps running per concurrency key, the active run per
/// singleton key, the throttles' and rate limits' cell-rate states, and the debounces and
/// batches collecting events. The counts change only through ``acquire(runId:)`` and
/// ``release(_:)``, which the scheduler calls as leases come and go.
struct FlowState: Sendable {
    /// Flow-control facts of each active run that has any, from its first event.
    private(set) var runs: [String: RunFlow] = [:]
    /// Running steps per concurrency key (see ``RunFlow/Constraint``); absent at zero.
    private(set) var inFlight: [String: Int] = [:]
    /// Singleton key → its active run.
    private(set) var singletonRuns: [String: String] = [:]
    /// Throttle and rate-limit states (GCRA theoretical arrival times) by `FlowKey`.
    private(set) var rates: [String: Int64] = [:]
    /// When each rate state goes idle (then it is forgotten, in memory and in the store).
    private var rateExpiry: Heap<FlowStateExpiry> = []
    /// Debounces and batches in progress, by key (function id NUL key value).
    var debounces: [String: DebounceRecord] = [:]
    var batches: [String: BatchRecord] = [:]

    /// Records a run's facts (nil or empty: it has none), and its singleton key's active run.
    mutating func track(runId: String, _ facts: RunFlow?) {
        guard let facts, !facts.isEmpty else {
            runs[runId] = nil
            return
        }
        runs[runId] = facts
        if let key = facts.singletonKey { singletonRuns[key] = runId }
    }

    /// Forgets an ended run's facts (its running steps keep their counts until they end).
    mutating func untrack(runId: String) {
        guard !runs.isEmpty, let facts = runs.removeValue(forKey: runId) else { return }
        if let key = facts.singletonKey, singletonRuns[key] == runId {
            singletonRuns[key] = nil
        }
    }

    /// A step of `runId` goes out: it counts against each of its run's concurrency keys, which
    /// it returns (the lease keeps them, to release the same keys when it ends).
    mutating func acquire(runId: String) -> [String] {
        guard !runs.isEmpty, let constraints = runs[runId]?.constraints, !constraints.isEmpty else { return [] }
        var keys: [String] = []
        keys.reserveCapacity(constraints.count)
        for constraint in constraints {
            inFlight[constraint.key, default: 0] += 1
            keys.append(constraint.key)
        }
        return keys
    }

    /// A step that counted against concurrency key `key` ended.
    mutating func release(_ key: String) {
        let count = inFlight[key] ?? 0
        inFlight[key] = count > 1 ? count - 1 : nil
    }

    /// Steps running against concurrency key `key`.
    func running(_ key: String) -> Int { inFlight[key] ?? 0 }

    /// The keyed concurrency limit of a run that is full, if any.
    func fullKeyedLimit(of runId: String) -> String? {
        guard !runs.isEmpty, let constraints = runs[runId]?.constraints else { return nil }
        for constraint in constraints where constraint.keyed {
            if running(constraint.key) >= constraint.limit { return constraint.key }
        }
        return nil
    }

    /// Records a throttle's or rate limit's new state.
    mutating func setRate(_ key: String, _ tat: Int64) {
        if rates.updateValue(tat, forKey: key) == nil {
            // One expiry entry per key: when it comes due, it moves to the key's current TAT.
            rateExpiry.insert(FlowStateExpiry(atMilliseconds: tat, key: key))
        }
    }

    /// Forgets the rate states whose time has passed (they equal a fresh state); returns their keys.
    mutating func expireRates(now: Int64) -> [String] {
        var expired: [String] = []
        while let top = rateExpiry.min, top.atMilliseconds <= now {
            _ = rateExpiry.removeMin()
            guard let tat = rates[top.key] else { continue }
            if tat > now {
                rateExpiry.insert(FlowStateExpiry(atMilliseconds: tat, key: top.key))
            } else {
                rates[top.key] = nil
                expired.append(top.key)
            }
        }
        return expired
    }

    /// Every way the state disagrees with the leases' concurrency keys (`leased`: how many
    /// leases hold each key) and with itself; empty when all hold.
    func invariantViolations(leased: [String: Int]) -> [String] {
        var problems: [String] = []
        if leased != inFlight {
            problems.append("running steps per concurrency key \(inFlight) do not count the leases \(leased)")
        }
        for (key, runId) in singletonRuns where runs[runId]?.singletonKey != key {
            problems.append("singleton key \(key) names run \(runId), whose facts do not hold it")
        }
        for (runId, facts) in runs where facts.isEmpty {
            problems.append("run \(runId) has empty flow-control facts on record")
        }
        let expiring = Set(rateExpiry.unordered.map(\.key))
        for key in rates.keys where !expiring.contains(key) {
            problems.append("rate state \(key) has no expiry")
        }
        return problems
    }
}
