import TetherEngine

/// Everything a coordinator rebuilds its scheduler from at start, read from the store.
public struct StoredState: Sendable {
    public var functions: [FunctionDefinition]
    public var runs: [RunRecord]
    public var leases: [LeaseRecord]
    public var cronTicks: [String: Int64]
    public var idempotencyKeys: [String: Int64]
    public var flowStates: [String: Int64]
    public var debounces: [DebounceRecord]
    public var batches: [BatchRecord]
}

extension CoordinatorStore {
    /// Reads the state a restarted coordinator needs (blocking: call it off any event loop).
    public func loadState() throws -> StoredState {
        StoredState(
            functions: try loadFunctions(), runs: try loadActiveRuns(), leases: try loadLeases(),
            cronTicks: try loadCronTicks(), idempotencyKeys: try loadIdempotencyKeys(), flowStates: try loadFlowStates(),
            debounces: try loadDebounces(), batches: try loadBatches())
    }
}

extension CoordinatorCore {
    /// Restores the scheduler from `state` (see ``CoordinatorCore/restore(functions:runs:leases:cronTicks:idempotencyKeys:flowStates:debounces:batches:now:)``).
    /// Returns the writes that clean up what the state no longer needs.
    @discardableResult
    public mutating func restore(_ state: StoredState, now: Int64) -> Effects {
        restore(
            functions: state.functions, runs: state.runs, leases: state.leases, cronTicks: state.cronTicks,
            idempotencyKeys: state.idempotencyKeys, flowStates: state.flowStates, debounces: state.debounces,
            batches: state.batches, now: now)
    }
}
