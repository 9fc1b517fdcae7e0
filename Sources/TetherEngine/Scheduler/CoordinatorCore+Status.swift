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
        public var inFlight: Int
        public var functions: [String]
    }

    public struct Function: Sendable, Equatable {
        public var id: String
        public var queued: Int
        public var running: Int
        public var oldestQueuedAgeMilliseconds: Int64
    }

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
                    inFlight: worker.inFlight.count, functions: worker.registration.functions.map(\.id).sorted())
            }
        var queued: [String: (count: Int, oldest: Int64)] = [:]
        for (item, since) in readySince {
            guard let functionId = runs[item.runId]?.functionId else { continue }
            let current = queued[functionId] ?? (0, since)
            queued[functionId] = (current.count + 1, min(current.oldest, since))
        }
        var retrying = 0
        for timer in timers.unordered where timer.kind == .retry || timer.kind == .stepRetry {
            guard let run = runs[timer.runId],
                timer.kind == .stepRetry || run.nextAttemptAtMilliseconds == timer.dueMilliseconds
            else { continue }
            let functionId = run.functionId
            retrying += 1
            let current = queued[functionId] ?? (0, timer.dueMilliseconds)
            queued[functionId] = (current.count + 1, current.oldest)
        }
        var running: [String: Int] = [:]
        for lease in leases.values {
            guard let functionId = runs[lease.runId]?.functionId else { continue }
            running[functionId, default: 0] += 1
        }
        let functionList = functions.keys.sorted().map { id in
            let q = queued[id]
            return SchedulerStatus.Function(
                id: id, queued: q?.count ?? 0, running: running[id] ?? 0,
                oldestQueuedAgeMilliseconds: q.map { max(0, now - $0.oldest) } ?? 0)
        }
        let oldest = readySince.values.min().map { max(0, now - $0) } ?? 0
        return SchedulerStatus(
            workers: workerList, functions: functionList,
            capacityTotal: workers.values.reduce(0) { $0 + $1.capacity },
            inFlight: leases.count, queueDepth: readySince.count + retrying,
            oldestQueuedAgeMilliseconds: oldest, activeRuns: runs.count)
    }
}
