import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TetherEngine
import TetherStore

/// Deletes ended runs, their steps and the events nothing needs any more, once older than the
/// configured ``RetentionPolicy`` (docs/operations.md, "Retention").
///
/// Every sweep interval it reads what is due from the store's time-ordered indexes (on the
/// thread pool), asks the scheduler which of the due events a live run still needs (on its
/// loop), and commits the deletions through the runtime, in order with the scheduler's own
/// writes and, in a cluster, through the journal like them. A sweep reads and deletes at most
/// ``batchLimit`` entries of each index; while more are due it goes on after a short pause, so
/// a backlog never holds a large write in front of dispatch. The in-use check walks the live
/// runs once per sweep on the scheduler's loop (O(live runs), whatever the number of
/// candidates). Runs on a cluster's leader only
/// (it is one of the services of the leader's coordinator); standbys apply its deletions from
/// the journal.
struct RetentionService: Service {
    let runtime: CoordinatorRuntime
    let store: CoordinatorStore
    let threadPool: NIOThreadPool
    let policy: RetentionPolicy
    let idWindowMilliseconds: Int64
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// Ended runs one sweep deletes at most (each with its steps).
    var batchLimit = 1_000
    /// Entries of each event index one sweep handles at most: more than runs, because the
    /// scheduler's in-use check walks every live run once per sweep whatever the number of
    /// candidates, and an event is a single small delete.
    var eventBatchLimit = 4_000
    /// The pause between two sweeps of a backlog.
    var backlogPause: Duration = .milliseconds(20)
    /// How often the sweep starts again from the beginning of each index instead of its cursor,
    /// so that an entry written behind the cursor (the clock stepped back) is not left for good.
    var cursorResetMilliseconds: Int64 = 600_000

    func run() async throws {
        var cursor = RetentionCursor()
        var delay = Duration.milliseconds(policy.sweepIntervalMilliseconds)
        var cursorSince = clock()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let pause = delay
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            } catch {
                return
            }
            if clock() - cursorSince >= cursorResetMilliseconds {
                cursor = RetentionCursor()
                cursorSince = clock()
            }
            do {
                let plan = try await sweep(cursor: cursor)
                cursor = plan.cursor
                delay = plan.hasMore ? backlogPause : .milliseconds(policy.sweepIntervalMilliseconds)
                if plan.counts.runs + plan.counts.events > 0 {
                    logger.debug(
                        "retention sweep",
                        metadata: [
                            "runs": "\(plan.counts.runs)", "steps": "\(plan.counts.steps)", "events": "\(plan.counts.events)",
                            "eventIds": "\(plan.counts.eventIds)", "more": "\(plan.hasMore)",
                        ])
                }
            } catch let error as StoreError where error.code == .closed {
                // The store closes only at the end; returning early would end the service group.
                try? await gracefulShutdown()
                return
            } catch {
                // A failed read is logged and retried at the next interval; a failed write has
                // already stopped the coordinator (it is committed like the scheduler's own).
                logger.error("retention sweep failed; it is retried", metadata: ["error": "\(error)"])
                delay = .milliseconds(policy.sweepIntervalMilliseconds)
            }
        }
    }

    /// One sweep: read what is due, keep what live runs need, delete the rest.
    func sweep(cursor: RetentionCursor) async throws -> RetentionPlan {
        let now = clock()
        let store = self.store
        let policy = self.policy
        let limit = batchLimit
        let eventLimit = eventBatchLimit
        let scan = try await threadPool.runIfActive {
            try store.scanRetention(policy: policy, now: now, cursor: cursor, limit: limit, eventLimit: eventLimit)
        }
        runtime.metrics.retentionSweeps.increment()
        guard !scan.isEmpty else { return RetentionPlan(cursor: scan.cursor) }
        let runtime = self.runtime
        let candidates = scan.eventIds
        let inUse = try await runtime.loop.submit { runtime.eventsInUse(among: candidates) }.get()
        let plan = scan.plan(inUse: inUse, now: now, idWindowMilliseconds: idWindowMilliseconds)
        let batch = plan.batch
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            runtime.loop.execute {
                runtime.commitMaintenance(batch) { continuation.resume(with: $0.mapError { $0 as any Error }) }
            }
        }
        runtime.metrics.recordRetention(plan.counts)
        return plan
    }
}
