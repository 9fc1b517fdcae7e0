import DequeModule

extension CoordinatorCore {
    /// Work ready to go out: one ``FunctionQueue`` per function, the functions with work visited
    /// round-robin (`backlog`), and what concurrency limits have parked. Only its methods change
    /// it, so the backlog, the lanes' rotation flags and the parking lists never drift apart;
    /// ``invariantViolations()`` checks that they agree.
    ///
    /// Entries are dropped lazily: work that stopped being ready (its run ended, it was
    /// superseded) leaves `readySince` at once and its queue entry when it reaches the head.
    struct ReadyQueues: Sendable {
        private(set) var byFunction: [String: FunctionQueue] = [:]
        private var sequence: UInt64 = 0
        /// Work that is ready, with the time it became ready.
        private(set) var readySince: [WorkItem: Int64] = [:]
        /// Functions with a lane in rotation (and not parked as a whole), in visiting order.
        private var backlog: Deque<String> = []
        private var inBacklog: Set<String> = []
        /// Lanes waiting for a full keyed concurrency limit: concurrency key → (function, lane).
        private var parkedLanes: [String: [(functionId: String, lane: String)]] = [:]
        /// Functions waiting for a full function-wide concurrency limit: concurrency key → functions.
        private var parkedFunctions: [String: Set<String>] = [:]

        var count: Int { readySince.count }

        func isReady(_ item: WorkItem) -> Bool { readySince[item] != nil }

        /// Adds ready work to its function's queue, in `lane`, unless it is ready already.
        mutating func push(
            _ item: WorkItem, functionId: String, rank: Int64, notStarted: Bool, lane: String, now: Int64
        ) {
            guard readySince[item] == nil else { return }
            readySince[item] = now
            sequence &+= 1
            byFunction[functionId, default: FunctionQueue()].push(
                FunctionQueue.Entry(rank: rank, notStarted: notStarted ? 1 : 0, sequence: sequence, item: item),
                lane: lane)
            if byFunction[functionId]!.parkedOn == nil { addToBacklog(functionId) }
        }

        /// Work that is no longer ready (dispatched, or its run ended); its entry goes lazily.
        mutating func remove(_ item: WorkItem) { readySince[item] = nil }

        /// The next function to visit, taken out of the backlog.
        mutating func nextFunction() -> String? {
            while let functionId = backlog.popFirst() {
                inBacklog.remove(functionId)
                if byFunction[functionId] != nil { return functionId }
            }
            return nil
        }

        /// Puts a visited function back: at the end of the backlog while it has a lane in
        /// rotation; forgotten when it has no work left. A function whose lanes are all parked
        /// stays out until one of their keys frees a slot.
        mutating func revisit(_ functionId: String) {
            guard let queue = byFunction[functionId] else { return }
            if queue.isEmpty {
                byFunction[functionId] = nil
            } else if !queue.rotation.isEmpty {
                addToBacklog(functionId)
            }
        }

        /// Puts a function that found no free worker back at the end of the backlog.
        mutating func postpone(_ functionId: String) { addToBacklog(functionId) }

        /// Parks a whole function on a full function-wide concurrency limit `key`.
        mutating func park(function functionId: String, on key: String) {
            guard byFunction[functionId] != nil else { return }
            byFunction[functionId]!.parkedOn = key
            parkedFunctions[key, default: []].insert(functionId)
        }

        /// Takes the next item of a function that `isDispatchable`, visiting its lanes in
        /// rotation: entries no longer dispatchable are dropped (and their items stop being
        /// ready unless `isLeased`), and a lane whose head is over a keyed concurrency limit
        /// (`fullKeyedLimit` of its run) is parked on that limit.
        mutating func next(
            of functionId: String, isDispatchable: (WorkItem) -> Bool, isLeased: (WorkItem) -> Bool,
            fullKeyedLimit: (String) -> String?
        ) -> WorkItem? {
            guard byFunction[functionId] != nil else { return nil }
            while let lane = byFunction[functionId]!.rotation.popFirst() {
                byFunction[functionId]!.lanes[lane]!.inRotation = false
                // Mutate the queue in place: a copy of a large backlog per dispatch is quadratic.
                while let head = byFunction[functionId]!.lanes[lane]!.entries.min,
                    readySince[head.item] == nil || !isDispatchable(head.item)
                {
                    _ = byFunction[functionId]!.lanes[lane]!.entries.removeMin()
                    if !isLeased(head.item) { readySince[head.item] = nil }
                }
                guard let head = byFunction[functionId]!.lanes[lane]!.entries.min else {
                    byFunction[functionId]!.lanes[lane] = nil
                    continue
                }
                if let full = fullKeyedLimit(head.item.runId) {
                    byFunction[functionId]!.lanes[lane]!.parkedOn = full
                    parkedLanes[full, default: []].append((functionId, lane))
                    continue
                }
                _ = byFunction[functionId]!.lanes[lane]!.entries.removeMin()
                if byFunction[functionId]!.lanes[lane]!.entries.isEmpty {
                    byFunction[functionId]!.lanes[lane] = nil
                } else {
                    byFunction[functionId]!.lanes[lane]!.inRotation = true
                    byFunction[functionId]!.rotation.append(lane)
                }
                return head.item
            }
            return nil
        }

        /// A step counted against concurrency key `key` ended: what was parked on it goes back
        /// in rotation.
        mutating func unpark(_ key: String) {
            if let parked = parkedLanes.removeValue(forKey: key) {
                for (functionId, lane) in parked where byFunction[functionId]?.unpark(lane: lane, from: key) == true {
                    if byFunction[functionId]!.parkedOn == nil { addToBacklog(functionId) }
                }
            }
            if let parked = parkedFunctions.removeValue(forKey: key) {
                for functionId in parked where byFunction[functionId]?.parkedOn == key {
                    byFunction[functionId]!.parkedOn = nil
                    if !byFunction[functionId]!.rotation.isEmpty { addToBacklog(functionId) }
                }
            }
        }

        /// Puts everything of a function that was parked back in rotation (its limits changed).
        mutating func unparkAll(functionId: String) {
            guard byFunction[functionId] != nil else { return }
            byFunction[functionId]!.unparkAll()
            if !byFunction[functionId]!.rotation.isEmpty { addToBacklog(functionId) }
        }

        private mutating func addToBacklog(_ functionId: String) {
            if inBacklog.insert(functionId).inserted { backlog.append(functionId) }
        }

        /// Every way the queues disagree with themselves; empty when all hold.
        func invariantViolations() -> [String] {
            var problems: [String] = []
            if inBacklog.count != backlog.count || Set(backlog) != inBacklog {
                problems.append("the backlog's order and its membership set disagree")
            }
            var queued: Set<WorkItem> = []
            var parkedLaneKeys: [String: String] = [:]
            for (key, lanes) in parkedLanes {
                for (functionId, lane) in lanes { parkedLaneKeys[functionId + "\u{0}" + lane] = key }
            }
            for (functionId, queue) in byFunction {
                if queue.isEmpty, inBacklog.contains(functionId) {
                    problems.append("function \(functionId) is in the backlog with an empty queue")
                }
                if let key = queue.parkedOn, parkedFunctions[key]?.contains(functionId) != true {
                    problems.append("function \(functionId) is parked on \(key), which does not list it")
                }
                if Set(queue.rotation).count != queue.rotation.count {
                    problems.append("function \(functionId) has a lane in rotation twice")
                }
                for (name, lane) in queue.lanes {
                    if lane.inRotation != queue.rotation.contains(name) {
                        problems.append("function \(functionId): lane '\(name)' is in rotation \(queue.rotation.contains(name)), flagged \(lane.inRotation)")
                    }
                    if let key = lane.parkedOn {
                        if lane.inRotation { problems.append("function \(functionId): lane '\(name)' is parked and in rotation") }
                        if parkedLaneKeys[functionId + "\u{0}" + name] != key {
                            problems.append("function \(functionId): lane '\(name)' is parked on \(key), which does not list it")
                        }
                    }
                    for entry in lane.entries.unordered { queued.insert(entry.item) }
                }
            }
            for item in readySince.keys where !queued.contains(item) {
                problems.append("\(item) is ready but in no queue")
            }
            return problems
        }
    }
}
