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

        var count: Int { byRequest.count }
        var all: Dictionary<String, Lease>.Values { byRequest.values }

        subscript(requestId: String) -> Lease? { byRequest[requestId] }

        func isLeased(_ item: WorkItem) -> Bool { byItem[item] != nil }

        /// The request `item` is leased under, if it is.
        func requestId(leasing item: WorkItem) -> String? { byItem[item] }

        func hasLeases(run runId: String) -> Bool { countByRun[runId] != nil }

        /// Requests waiting for the worker instance `key` to come back.
        func detached(instanceKey key: String) -> Set<String> { detachedByInstance[key] ?? [] }

        /// Requests whose deadline is at or before `now`, in request id order.
        func expired(at now: Int64) -> [String] {
            byRequest.compactMap { $0.value.deadlineMilliseconds <= now ? $0.key : nil }.sorted()
        }

        var earliestDeadline: Int64? { byRequest.values.lazy.map(\.deadlineMilliseconds).min() }

        /// Records a new lease (held by a connection, or detached when `connectionId` is empty).
        mutating func insert(_ lease: Lease, requestId: String) {
            assert(byRequest[requestId] == nil && byItem[lease.item] == nil, "\(lease.item) is leased twice")
            byRequest[requestId] = lease
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
            byRequest[requestId]!.deadlineMilliseconds = max(lease.deadlineMilliseconds, deadline)
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
            guard byRequest[requestId]?.connectionId == connectionId else { return }
            byRequest[requestId]!.deadlineMilliseconds = deadline
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
