import HeapModule

extension CoordinatorCore {
    /// Every request out on a worker, indexed the ways the scheduler looks leases up: by request
    /// id, by the work item leased, by run (a count), and, while detached, by the worker
    /// instance that may resume them. Only its methods change it, so the indexes never drift
    /// apart; ``invariantViolations()`` checks that they agree.
    struct LeaseTable: Sendable {
        private(set) var byRequest: [String: Lease] = [:]
        /// Detached leases (see ``Lease``) by the instance key of the worker that may resume them.
        private var detachedByInstance: [String: Set<String>] = [:]
        /// Run id → requests it has out (several for parallel steps). A count, not a set: this is
        /// on the path of every dispatch and result.
        private var countByRun: [String: Int] = [:]
        /// Work item → the request id it is leased under.
        private var byItem: [WorkItem: String] = [:]
        /// Every lease's deadline, soonest first, so that a tick finds the expired ones without
        /// scanning every lease. An entry whose lease is gone or has another deadline now is
        /// stale and dropped when it reaches the top (a renewal adds an entry).
        private var deadlines: Heap<Deadline> = []

        private struct Deadline: Comparable, Sendable {
            var at: Int64
            var requestId: String

            static func < (lhs: Self, rhs: Self) -> Bool { (lhs.at, lhs.requestId) < (rhs.at, rhs.requestId) }
        }

        var count: Int { byRequest.count }
        var all: Dictionary<String, Lease>.Values { byRequest.values }

        subscript(requestId: String) -> Lease? { byRequest[requestId] }

        func isLeased(_ item: WorkItem) -> Bool { byItem[item] != nil }

        /// The request `item` is leased under, if it is.
        func requestId(leasing item: WorkItem) -> String? { byItem[item] }

        func hasLeases(run runId: String) -> Bool { countByRun[runId] != nil }

        /// Requests waiting for the worker instance `key` to come back.
        func detached(instanceKey key: String) -> Set<String> { detachedByInstance[key] ?? [] }

        /// Requests whose deadline is at or before `now`, in request id order. Stale deadline
        /// entries met on the way are dropped; the expired leases stay until the caller removes them.
        mutating func takeExpired(at now: Int64) -> [String] {
            var expired: [Deadline] = []
            while let top = deadlines.min, top.at <= now {
                _ = deadlines.removeMin()
                if byRequest[top.requestId]?.deadlineMilliseconds == top.at { expired.append(top) }
            }
            // Still tracked until removed (then these entries are stale).
            for entry in expired { deadlines.insert(entry) }
            return Set(expired.map(\.requestId)).sorted()
        }

        /// The soonest deadline, or one a little earlier (a stale entry): a tick then finds nothing.
        var earliestDeadline: Int64? { deadlines.min?.at }

        private mutating func track(_ requestId: String, deadline: Int64) {
            deadlines.insert(Deadline(at: deadline, requestId: requestId))
            if deadlines.count > 2 * byRequest.count + 1_024 {
                // Mostly stale (leases renewed by heartbeats): rebuilt from the leases.
                deadlines = Heap(byRequest.map { Deadline(at: $0.value.deadlineMilliseconds, requestId: $0.key) })
            }
        }

        /// Records a new lease (held by a connection, or detached when `connectionId` is empty).
        mutating func insert(_ lease: Lease, requestId: String) {
            assert(byRequest[requestId] == nil && byItem[lease.item] == nil, "\(lease.item) is leased twice")
            byRequest[requestId] = lease
            track(requestId, deadline: lease.deadlineMilliseconds)
            byItem[lease.item] = requestId
            countByRun[lease.runId, default: 0] += 1
            if lease.connectionId.isEmpty { detachedByInstance[lease.instanceKey, default: []].insert(requestId) }
        }

        /// Forgets a lease; returns it as it was.
        mutating func remove(_ requestId: String) -> Lease? {
            guard let lease = byRequest.removeValue(forKey: requestId) else { return nil }
            if byItem[lease.item] == requestId { byItem[lease.item] = nil }
            if let count = countByRun[lease.runId] {
                countByRun[lease.runId] = count > 1 ? count - 1 : nil
            }
            if lease.connectionId.isEmpty { unindexDetached(requestId, lease) }
            return lease
        }

        /// Moves a lease to `connectionId` ("" detaches it), pushing its deadline to at least
        /// `deadline`. Returns the lease as it was (its previous holder).
        mutating func move(_ requestId: String, to connectionId: String, deadline: Int64) -> Lease? {
            guard let lease = byRequest[requestId], lease.connectionId != connectionId else { return nil }
            if lease.connectionId.isEmpty { unindexDetached(requestId, lease) }
            byRequest[requestId]!.connectionId = connectionId
            if deadline > lease.deadlineMilliseconds {
                byRequest[requestId]!.deadlineMilliseconds = deadline
                track(requestId, deadline: deadline)
            }
            if connectionId.isEmpty { detachedByInstance[lease.instanceKey, default: []].insert(requestId) }
            return lease
        }

        /// Marks the leases of `runId`, which has ended, as outliving their run. Scans every lease:
        /// a run rarely ends with a step out (a cancel or a timeout).
        mutating func markEnded(run runId: String) {
            guard countByRun[runId] != nil else { return }
            for (requestId, lease) in byRequest where lease.runId == runId {
                byRequest[requestId]!.runEnded = true
            }
        }

        /// A heartbeat from the holder listed the request: its lease runs until `deadline`.
        mutating func renew(_ requestId: String, heldBy connectionId: String, deadline: Int64) {
            guard let lease = byRequest[requestId], lease.connectionId == connectionId,
                lease.deadlineMilliseconds != deadline
            else { return }
            byRequest[requestId]!.deadlineMilliseconds = deadline
            track(requestId, deadline: deadline)
        }

        private mutating func unindexDetached(_ requestId: String, _ lease: Lease) {
            let key = lease.instanceKey
            detachedByInstance[key]?.remove(requestId)
            if detachedByInstance[key]?.isEmpty == true { detachedByInstance[key] = nil }
        }

        /// Every disagreement between the indexes, described.
        func invariantViolations() -> [String] {
            var problems: [String] = []
            var perRun: [String: Int] = [:]
            for (requestId, lease) in byRequest {
                perRun[lease.runId, default: 0] += 1
                if byItem[lease.item] != requestId {
                    problems.append("lease \(requestId): its item \(lease.item) is not recorded as leased under it")
                }
                if lease.connectionId.isEmpty, detachedByInstance[lease.instanceKey]?.contains(requestId) != true {
                    problems.append("lease \(requestId) is detached but not indexed under its instance")
                }
            }
            let tracked = Set(deadlines.unordered.map { "\($0.requestId)\u{0}\($0.at)" })
            for (requestId, lease) in byRequest where !tracked.contains("\(requestId)\u{0}\(lease.deadlineMilliseconds)") {
                problems.append("lease \(requestId): its deadline \(lease.deadlineMilliseconds) is not in the deadline heap")
            }
            if perRun != countByRun {
                problems.append("leases per run \(countByRun) do not count the leases \(perRun)")
            }
            for (item, requestId) in byItem where byRequest[requestId]?.item != item {
                problems.append("leased items: \(item) points at request \(requestId), which is not its lease")
            }
            for (key, requestIds) in detachedByInstance {
                if requestIds.isEmpty { problems.append("detached leases: empty entry for \(key)") }
                for requestId in requestIds
                where byRequest[requestId].map({ !$0.connectionId.isEmpty || $0.instanceKey != key }) ?? true {
                    problems.append("detached leases: \(requestId) under \(key) is not a detached lease of that instance")
                }
            }
            return problems
        }
    }
}
