extension CoordinatorCore {
    /// Cancels an active run: it dispatches nothing more and ends as `cancelled`; its timers
    /// and waits are removed.
    ///
    /// A step in flight keeps its worker slot until its result arrives (the worker is still
    /// running it); that result is then acknowledged as not accepted. Replies nothing when the
    /// run is not active here (unknown, or already ended): the caller tells which from the store.
    mutating func applyCancel(runId: String, now: Int64) -> Effects {
        var effects = Effects()
        let error = RunError(code: ErrorCode.cancelled.rawValue, message: "the run was cancelled")
        guard let run = end(runId: runId, status: .cancelled, error: error, now: now, into: &effects) else {
            return effects
        }
        effects.reply = .cancelled(run)
        pump(now: now, into: &effects)
        return effects
    }

    /// Ends an active run with `status` and `error` (cancellation, timeouts). Returns the
    /// ended run, or nil when it was not active.
    @discardableResult
    mutating func end(runId: String, status: RunStatus, error: RunError?, now: Int64, into effects: inout Effects)
        -> RunRecord?
    {
        guard var run = runs[runId] else { return nil }
        run.status = status
        run.endedAtMilliseconds = now
        run.error = error
        // A lease stays (with the worker's slot, and counted in `leases`) until the worker
        // answers or the lease expires.
        finish(run, changedSteps: [], now: now, into: &effects)
        return run
    }
}
