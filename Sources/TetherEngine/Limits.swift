/// Every size, count and duration limit of the engine, in one place.
///
/// Names end with their unit. The defaults are the ones docs/protocol.md and docs/semantics.md promise; a
/// coordinator may be configured with other values.
public struct Limits: Sendable, Equatable {
    /// Largest frame the coordinator accepts from a worker (the negotiated maximum it
    /// announces in Welcome). A step result must fit in it.
    public var maxFrameBytes: Int = 4 * 1024 * 1024
    /// Largest frame the Swift SDK accepts from the coordinator (announced in Hello): a step
    /// request carries the run's whole state, so this leaves room for `maxRunStateBytes`.
    public var maxWorkerFrameBytes: Int = 33 * 1024 * 1024
    /// Largest event accepted by `POST /v1/events` (its JSON encoding).
    public var maxEventBytes: Int = 512 * 1024
    /// Largest body accepted by `POST /v1/events` (one event or a batch).
    public var maxRequestBodyBytes: Int = 8 * 1024 * 1024
    /// Largest output of one step.
    public var maxStepOutputBytes: Int = 4 * 1024 * 1024
    /// Most steps one run may have.
    public var maxStepsPerRun: Int = 1_000
    /// Largest total state of one run (events plus step outputs).
    public var maxRunStateBytes: Int = 32 * 1024 * 1024
    /// Most functions one worker may register.
    public var maxFunctionsPerWorker: Int = 1_000
    /// Longest id a user may give (event id, step id, function id), and longest name a worker
    /// declares in its Hello (instance id, app version, SDK name and version, function name).
    public var maxIdentifierBytes: Int = 256
    /// Most labels one worker may declare, and the longest key or value of one.
    public var maxLabelsPerWorker: Int = 64
    public var maxLabelBytes: Int = 256
    /// Longest durable timer: `step.sleep`, a `waitForEvent` timeout (a year).
    public var maxSleepMilliseconds: Int64 = 366 * 24 * 3_600_000
    /// Latest event `ts` accepted, from `POST /v1/events` or `step.sendEvent`:
    /// 9999-12-31T23:59:59.999Z in Unix milliseconds (the earliest is 0).
    public var maxEventTimestampMilliseconds: Int64 = 253_402_300_799_999
    /// How long an event `id` and a function's idempotency key dedupe (24 h).
    public var idempotencyWindowMilliseconds: Int64 = 24 * 3_600_000
    /// Most events one `step.sendEvent` may send.
    public var maxEventsPerSend: Int = 1_000
    /// Longest flow-control period: throttle, rate limit, debounce and batch timeouts (7 days).
    public var maxFlowPeriodMilliseconds: Int64 = 7 * 24 * 3_600_000
    /// Largest total event data of one batch (`batchEvents`): a batch that would grow past it
    /// starts its run first.
    public var maxBatchBytes: Int = 8 * 1024 * 1024
    /// Most runs not ended (queued, running, sleeping, waiting) before `POST /v1/events` answers
    /// `429 overloaded`: every active run is held in memory. Runs started by steps, crons and
    /// batches are never refused, so the count may pass it a little.
    public var maxActiveRuns: Int = 250_000
    /// Most `POST /v1/events` requests in progress at once (waiting for the scheduler or for
    /// their write to be durable); more are answered `429 overloaded` at once.
    public var maxPendingEventRequests: Int = 1_024
    /// Most bytes of changes handed to the store and not yet durable. Past it, `POST /v1/events`
    /// answers `429 overloaded` and no step is dispatched until half of them are durable.
    public var maxUncommittedWriteBytes: Int = 64 * 1024 * 1024

    public init() {}

    public static let `default` = Limits()
}

/// Timing defaults of the worker protocol (docs/protocol.md).
public struct ProtocolTiming: Sendable, Equatable {
    public var heartbeatIntervalMilliseconds: Int = 5_000
    public var heartbeatJitter: Double = 0.2
    /// A connection silent for this many heartbeat intervals is dead.
    public var missedHeartbeatsBeforeDead: Int = 3
    /// How long a dispatched step is leased before it may run elsewhere; heartbeats extend it.
    public var leaseDurationMilliseconds: Int = 15_000
    /// After a coordinator restart, how long a step that was out on a worker waits for that
    /// worker instance to reconnect and resume it before it is dispatched again.
    public var resumeGraceMilliseconds: Int = 15_000
    /// Most worker handshakes (TLS, challenge, Hello, registration) the coordinator runs at once.
    public var maxConcurrentHandshakes: Int = 256
    /// Connections that may wait, before TLS, for a handshake slot; past these, connections are
    /// answered `overloaded` (a few at a time) or closed.
    public var maxQueuedHandshakes: Int = 8_192
    /// Connections that may sit accepted without having sent their ClientHello yet (they hold
    /// no handshake slot); past these, new connections are closed at once.
    public var maxPreHandshakeConnections: Int = 8_192

    public init() {}

    public static let `default` = ProtocolTiming()
}
