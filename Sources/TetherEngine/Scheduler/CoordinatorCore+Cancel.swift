extension CoordinatorCore {
    /// Cancels an active run: it dispatches nothing more and ends as `cancelled`.
    ///
    /// A step in flight keeps its worker slot until its result arrives (the worker is still
    /// running it); that result is then acknowledged as not accepted. Returns nil when the run
    /// is not active here (unknown, or already ended): the caller tells which from the store.
    public mutating func cancel(runId: String, now: Int64) -> (run: RunRecord, effects: Effects)? {
        guard var run = runs[runId] else { return nil }
        var effects = Effects()
        run.status = .cancelled
        run.endedAtMilliseconds = now
        run.error = RunError(code: "cancelled", message: "the run was cancelled")
        readySince[runId] = nil
        // A lease stays (with the worker's slot) until the worker answers or the lease expires.
        runLeases[runId] = nil
        finish(run, changedSteps: [], into: &effects)
        return (run, effects)
    }
}
