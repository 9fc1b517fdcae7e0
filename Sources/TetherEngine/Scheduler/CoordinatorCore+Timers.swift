extension CoordinatorCore {
    /// Time-driven work at `now`: retry timers that are due, leases that expired, and
    /// connections silent for too long (closed; their steps re-queued without consuming an
    /// attempt).
    public mutating func tick(now: Int64) -> Effects {
        var effects = Effects()
        while let top = delayed.min, top.dueMilliseconds <= now {
            _ = delayed.removeMin()
            guard let run = runs[top.runId], run.nextAttemptAtMilliseconds == top.dueMilliseconds else { continue }
            enqueue(runId: top.runId, now: now, atFront: false)
        }

        let timing = configuration.timing
        let silence = Int64(timing.heartbeatIntervalMilliseconds * timing.missedHeartbeatsBeforeDead)
        let dead = workers.values.filter { now - $0.lastHeartbeatAtMilliseconds > silence }.map(\.connectionId)
        for connectionId in dead.sorted() {
            effects.closes.append(
                ConnectionClose(
                    connectionId: connectionId, code: .heartbeatTimeout,
                    message: "no heartbeat for \(silence) ms; the connection is considered dead"))
            effects.append(disconnect(connectionId: connectionId, now: now))
        }

        let expired = leases.filter { $0.value.deadlineMilliseconds <= now }
        for (requestId, lease) in expired.sorted(by: { $0.key < $1.key }) {
            leases[requestId] = nil
            runLeases[lease.runId] = nil
            workers[lease.connectionId]?.inFlight.remove(requestId)
            enqueue(runId: lease.runId, now: now, atFront: true)
        }
        pump(now: now, into: &effects)
        return effects
    }

    /// The next time `tick` has work to do, if any: the earliest retry timer, lease deadline
    /// or heartbeat expiry.
    public var nextDeadline: Int64? {
        var next = delayed.min?.dueMilliseconds
        func consider(_ value: Int64) {
            next = next.map { min($0, value) } ?? value
        }
        if let lease = leases.values.min(by: { $0.deadlineMilliseconds < $1.deadlineMilliseconds }) {
            consider(lease.deadlineMilliseconds)
        }
        let timing = configuration.timing
        let silence = Int64(timing.heartbeatIntervalMilliseconds * timing.missedHeartbeatsBeforeDead)
        if let oldest = workers.values.min(by: { $0.lastHeartbeatAtMilliseconds < $1.lastHeartbeatAtMilliseconds }) {
            consider(oldest.lastHeartbeatAtMilliseconds + silence + 1)
        }
        return next
    }

    /// The earliest retry timer only (cheap; for the I/O layer's timer).
    public var nextRetryDeadline: Int64? { delayed.min?.dueMilliseconds }
}
