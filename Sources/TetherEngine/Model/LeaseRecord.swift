/// A step request out on a worker, as the store keeps it.
///
/// Written in the same batch as (or before) the dispatch it records, so the request never
/// reaches a worker unless a restarted coordinator can know about it; deleted when the
/// result is applied, the request is handed back, or its lease runs out.
public struct LeaseRecord: Sendable, Equatable {
    public var requestId: String
    public var runId: String
    /// The parallel step the request targets; empty for the run's continuation.
    public var stepId: String
    /// The worker instance and app it was sent to: only they may resume it after a reconnect.
    public var instanceId: String
    public var app: String
    public var dispatchedAtMilliseconds: Int64

    public init(
        requestId: String, runId: String, stepId: String, instanceId: String, app: String,
        dispatchedAtMilliseconds: Int64
    ) {
        self.requestId = requestId
        self.runId = runId
        self.stepId = stepId
        self.instanceId = instanceId
        self.app = app
        self.dispatchedAtMilliseconds = dispatchedAtMilliseconds
    }
}

/// A request a reconnecting worker says it still has from an earlier connection.
public struct ResumedRequest: Sendable, Equatable {
    public var requestId: String
    public var runId: String
    /// The step finished; its result is resent right after Welcome.
    public var resultHeld: Bool

    public init(requestId: String, runId: String, resultHeld: Bool) {
        self.requestId = requestId
        self.runId = runId
        self.resultHeld = resultHeld
    }
}
