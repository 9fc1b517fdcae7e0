import DequeModule

extension CoordinatorCore {
    /// What the coordinator remembers of accepted events for deduplication: recent event ids
    /// with the runs they started (a bounded number, oldest forgotten first; older ones are
    /// found in the store), and function idempotency keys with when their run started, until
    /// the idempotency window passes.
    struct EventMemory: Sendable {
        /// How many event ids are remembered; 0 remembers none.
        let capacity: Int
        private(set) var recent: [String: KnownEvent] = [:]
        private var recentOrder: Deque<String> = []
        /// Idempotency keys (function id NUL key value) → when their run started.
        private(set) var idempotencyKeys: [String: Int64] = [:]
        /// The keys as they were recorded, oldest first, for expiry.
        private var idempotencyOrder: Deque<(key: String, at: Int64)> = []

        init(capacity: Int) { self.capacity = max(0, capacity) }

        /// Remembers an accepted event id and the runs it started, forgetting the oldest beyond
        /// the capacity.
        mutating func remember(eventId: String, runIds: [String], now: Int64) {
            guard capacity > 0 else { return }
            if recent.updateValue(KnownEvent(runIds: runIds, receivedAtMilliseconds: now), forKey: eventId) == nil {
                recentOrder.append(eventId)
            }
            while recentOrder.count > capacity, let oldest = recentOrder.popFirst() {
                recent[oldest] = nil
            }
        }

        /// Records that idempotency key `key` started a run at `at`.
        mutating func record(idempotencyKey key: String, at: Int64) {
            idempotencyKeys[key] = at
            idempotencyOrder.append((key, at))
        }

        /// Forgets the idempotency keys recorded at or before `limit`; returns them.
        mutating func expireIdempotencyKeys(recordedAtOrBefore limit: Int64) -> [String] {
            var expired: [String] = []
            while let oldest = idempotencyOrder.first, oldest.at <= limit {
                idempotencyOrder.removeFirst()
                // A key recorded again later has a newer entry further on.
                guard idempotencyKeys[oldest.key] == oldest.at else { continue }
                idempotencyKeys[oldest.key] = nil
                expired.append(oldest.key)
            }
            return expired
        }

        /// Every way the memory disagrees with itself; empty when all hold.
        func invariantViolations() -> [String] {
            var problems: [String] = []
            if recent.count != recentOrder.count || recent.count > capacity {
                problems.append("\(recent.count) recent event ids, \(recentOrder.count) in order, capacity \(capacity)")
            }
            let ordered = Set(idempotencyOrder.lazy.filter { self.idempotencyKeys[$0.key] == $0.at }.map(\.key))
            if ordered.count != idempotencyKeys.count {
                problems.append("an idempotency key is missing from the expiry order")
            }
            return problems
        }
    }
}
