/// A snapshot of the scheduler for `GET /v1/status`.
public struct SchedulerStatus: Sendable, Equatable {
    public struct Worker: Sendable, Equatable {
        public var instanceId: String
        public var connectionId: String
        public var app: String
        public var appVersion: String
        public var status: String
        public var connectedAtMilliseconds: Int64
        public var lastHeartbeatAtMilliseconds: Int64
        public var capacity: Int
        /// Slots in use: leased requests, and requests resumed from an earlier connection
        /// that still run without a lease.
        public var inFlight: Int
        public var functions: [String]
    }

    public struct Function: Sendable, Equatable {
        public var id: String
        public var queued: Int
        public var running: Int
        public var oldestQueuedAgeMilliseconds: Int64
        /// Queue depth per fairness key (the first keyed concurrency limit's value), deepest
        /// first, at most `SchedulerStatus.maxKeysPerFunction`; empty for a function without one.
        public var keys: [Key] = []
        /// How many distinct keys have queued or running work (`keys` may show fewer).
        public var keyCount: Int = 0
        /// Debounces waiting for their events to go quiet.
        public var debouncing: Int = 0
        /// Events collected in batches that have not started their run.
        public var batched: Int = 0
    }

    /// One key of a function's queue.
    public struct Key: Sendable, Equatable {
        public var key: String
        public var queued: Int
        public var running: Int
    }

    /// Most keys listed per function.
    public static let maxKeysPerFunction = 20

    public var workers: [Worker]
    public var functions: [Function]
    public var capacityTotal: Int
    public var inFlight: Int
    public var queueDepth: Int
    public var oldestQueuedAgeMilliseconds: Int64
    public var activeRuns: Int
}

extension CoordinatorCore {
    /// Workers, capacity and queues at `now`.
    public func status(now: Int64) -> SchedulerStatus {
        let workerList = workers.values.sorted { $0.connectedAtMilliseconds < $1.connectedAtMilliseconds || ($0.connectedAtMilliseconds == $1.connectedAtMilliseconds && $0.connectionId < $1.connectionId) }
            .map { worker in
                SchedulerStatus.Worker(
                    instanceId: worker.registration.instanceId, connectionId: worker.connectionId,
                    app: worker.registration.app, appVersion: worker.registration.appVersion,
                    status: worker.status.rawValue, connectedAtMilliseconds: worker.connectedAtMilliseconds,
                    lastHeartbeatAtMilliseconds: worker.lastHeartbeatAtMilliseconds, capacity: worker.capacity,
                    inFlight: worker.busy, functions: worker.registration.functions.map(\.id).sorted())
            }
        var queued: [String: (count: Int, oldest: Int64)] = [:]
        for (item, since) in ready.readySince {
            guard let functionId = runs[item.runId]?.functionId else { continue }
            let current = queued[functionId] ?? (0, since)
            queued[functionId] = (current.count + 1, min(current.oldest, since))
        }
        var retrying = 0
        for timer in timers.unordered {
            let run: RunRecord
            switch timer.kind {
            case .retry(let runId):
                guard let found = runs[runId], found.nextAttemptAtMilliseconds == timer.dueMilliseconds else { continue }
                run = found
            case .stepRetry(let runId, _):
                guard let found = runs[runId] else { continue }
                run = found
            default:
                continue
            }
            let functionId = run.functionId
            retrying += 1
            let current = queued[functionId] ?? (0, timer.dueMilliseconds)
            queued[functionId] = (current.count + 1, current.oldest)
        }
        var running: [String: Int] = [:]
        for lease in leases.all {
            guard let functionId = runs[lease.runId]?.functionId else { continue }
            running[functionId, default: 0] += 1
        }
        let keys = keyedQueues()
        var debouncing: [String: Int] = [:]
        for record in flow.debounces.values { debouncing[record.functionId, default: 0] += 1 }
        var batched: [String: Int] = [:]
        for record in flow.batches.values { batched[record.functionId, default: 0] += record.events.count }
        let functionList = functions.ids.sorted().map { id in
            let q = queued[id]
            let functionKeys = keys[id] ?? []
            return SchedulerStatus.Function(
                id: id, queued: q?.count ?? 0, running: running[id] ?? 0,
                oldestQueuedAgeMilliseconds: q.map { max(0, now - $0.oldest) } ?? 0,
                keys: Array(functionKeys.prefix(SchedulerStatus.maxKeysPerFunction)), keyCount: functionKeys.count,
                debouncing: debouncing[id] ?? 0, batched: batched[id] ?? 0)
        }
        let oldest = ready.readySince.values.min().map { max(0, now - $0) } ?? 0
        return SchedulerStatus(
            workers: workerList, functions: functionList,
            capacityTotal: workers.values.reduce(0) { $0 + $1.capacity },
            inFlight: workers.values.reduce(0) { $0 + $1.busy }, queueDepth: ready.count + retrying,
            oldestQueuedAgeMilliseconds: oldest, activeRuns: runs.count)
    }
}

extension CoordinatorCore {
    /// Queued and running work per fairness key, for functions with a keyed concurrency limit,
    /// deepest first.
    func keyedQueues() -> [String: [SchedulerStatus.Key]] {
        var counts: [String: [String: (queued: Int, running: Int)]] = [:]
        for item in ready.readySince.keys {
            guard let flow = flow.runs[item.runId], flow.constraints.contains(where: \.keyed),
                let functionId = runs[item.runId]?.functionId
            else { continue }
            counts[functionId, default: [:]][flow.lane, default: (0, 0)].queued += 1
        }
        for lease in leases.all {
            guard let flow = flow.runs[lease.runId], flow.constraints.contains(where: \.keyed),
                let functionId = runs[lease.runId]?.functionId
            else { continue }
            counts[functionId, default: [:]][flow.lane, default: (0, 0)].running += 1
        }
        return counts.mapValues { lanes in
            lanes.map { SchedulerStatus.Key(key: $0.key, queued: $0.value.queued, running: $0.value.running) }
                .sorted { ($0.queued, $0.running, $1.key) > ($1.queued, $1.running, $0.key) }
        }
    }
}
