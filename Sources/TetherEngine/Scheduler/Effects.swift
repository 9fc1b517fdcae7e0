/// A change the store must make durable.
public enum StoreMutation: Sendable, Equatable {
    /// An accepted event and the runs it started.
    case putEvent(EventRecord, runIds: [String], receivedAtMilliseconds: Int64)
    /// A run's header, and the steps at `stepIndices` (new or changed). `created` is true the
    /// first time the run is written, so the store can add it to its indexes.
    case putRun(RunRecord, stepIndices: [Int], created: Bool)
    /// A function definition registered (or changed) by a worker.
    case putFunction(FunctionDefinition, updatedAtMilliseconds: Int64)
    /// A cron trigger (by key) fired its tick at `firedAtMilliseconds`: written with the run
    /// it started, so a tick fires once even across restarts.
    case putCronTick(key: String, firedAtMilliseconds: Int64)
    /// A function's idempotency key (function id NUL value) started a run at `atMilliseconds`.
    case putIdempotencyKey(key: String, atMilliseconds: Int64)
    /// An idempotency key whose window has passed.
    case deleteIdempotencyKey(key: String)
    /// A throttle's or rate limit's state (`FlowKey`): its theoretical arrival time (GCRA).
    case putFlowState(key: String, value: Int64)
    /// A throttle or rate limit back to its idle state.
    case deleteFlowState(key: String)
    /// A debounce started or moved by a new event.
    case putDebounce(DebounceRecord)
    /// A debounce that started its run.
    case deleteDebounce(key: String)
    /// A batch that grew.
    case putBatch(BatchRecord)
    /// A batch that started its run.
    case deleteBatch(key: String)
    /// A step request about to go out to a worker (see ``LeaseRecord``).
    case putLease(LeaseRecord)
    /// The lease of a run's step (`stepId` empty: its continuation) whose result was applied,
    /// that was handed back or that ran out. A `putLease` of the same work later in the same
    /// write supersedes it.
    case deleteLease(runId: String, stepId: String)
}

/// A message for one worker connection.
public enum OutboundMessage: Sendable, Equatable {
    case dispatch(StepDispatch)
    /// The result of `requestId` is durable (`accepted`) or was not used.
    case resultAck(connectionId: String, requestId: String, accepted: Bool)

    public var connectionId: String {
        switch self {
        case .dispatch(let dispatch): dispatch.connectionId
        case .resultAck(let connectionId, _, _): connectionId
        }
    }
}

/// One step request for a worker: run the function until its next new step.
public struct StepDispatch: Sendable, Equatable {
    public var connectionId: String
    public var requestId: String
    /// The run as it is at dispatch time: events and memoized steps.
    public var run: RunRecord
    /// 1-based attempt of the step about to run.
    public var attempt: Int
    public var leaseDeadlineMilliseconds: Int64
    /// The one parallel step to execute, or empty to run the function to its next new step.
    public var targetStepId: String = ""
    /// W3C `traceparent` of the dispatch span, set by the I/O layer when tracing is on.
    public var traceParent: String = ""

    public init(
        connectionId: String, requestId: String, run: RunRecord, attempt: Int, leaseDeadlineMilliseconds: Int64,
        targetStepId: String = "", traceParent: String = ""
    ) {
        self.connectionId = connectionId
        self.requestId = requestId
        self.run = run
        self.attempt = attempt
        self.leaseDeadlineMilliseconds = leaseDeadlineMilliseconds
        self.targetStepId = targetStepId
        self.traceParent = traceParent
    }
}

/// A connection the coordinator must close, with the reason sent to the worker.
public struct ConnectionClose: Sendable, Equatable {
    public var connectionId: String
    public var code: ErrorCode
    public var message: String
}

/// What the I/O layer must do after a command: make `writes` durable first, then send
/// `messages` and close `closes`. Messages of a command without writes still go out only
/// after every earlier write has committed, so nothing is dispatched ahead of its state.
public struct Effects: Sendable, Equatable {
    public var writes: [StoreMutation] = []
    public var messages: [OutboundMessage] = []
    public var closes: [ConnectionClose] = []
    /// Runs that reached a terminal status in this command (for metrics and notifications).
    public var finishedRuns: [String] = []
    /// Leases that ran out in this command (their steps go to the queue again).
    public var expiredLeases = 0
    /// Step results not applied because they did not come from the lease holder (or named
    /// another run than the lease): `(connection id, request id, reason)`.
    public var refusedResults: [RefusedResult] = []
    /// The command's answer to whoever sent it, besides the effects.
    public var reply: Reply = .none

    /// A command's answer to its sender.
    public enum Reply: Sendable, Equatable {
        case none
        /// The command was refused and changed nothing: an invalid registration, or events
        /// past ``Limits/maxActiveRuns`` (`overloaded`).
        case rejected(TetherError)
        /// One receipt per ingested event, in order.
        case receipts([EventReceipt])
        /// The run as cancelled.
        case cancelled(RunRecord)
    }

    public init() {}

    public var isEmpty: Bool { writes.isEmpty && messages.isEmpty && closes.isEmpty }

    /// Writes a run's header, folded into a write of the same run a few writes back when there
    /// is one (the result just applied, or the run just created, usually is): one mutation and
    /// one header for the store to encode, with the run as it is now.
    mutating func putHeader(_ run: RunRecord) {
        var index = writes.endIndex
        while index > writes.startIndex, writes.endIndex - index < 8 {
            index -= 1
            if case .putRun(let earlier, let steps, let created) = writes[index], earlier.id == run.id {
                writes[index] = .putRun(run, stepIndices: steps, created: created)
                return
            }
        }
        writes.append(.putRun(run, stepIndices: [], created: false))
    }

    public mutating func append(_ other: Effects) {
        writes.append(contentsOf: other.writes)
        messages.append(contentsOf: other.messages)
        closes.append(contentsOf: other.closes)
        finishedRuns.append(contentsOf: other.finishedRuns)
        expiredLeases += other.expiredLeases
        refusedResults.append(contentsOf: other.refusedResults)
    }
}

/// A step result the coordinator refused because its sender does not hold the request.
public struct RefusedResult: Sendable, Equatable {
    public enum Reason: String, Sendable, CaseIterable {
        /// No lease exists for the request id (never dispatched, already answered, or it ran out).
        case noLease = "no_lease"
        /// The lease is held by another connection, of another worker instance or app.
        case notHolder = "not_holder"
        /// The result names another run than the one leased under the request id.
        case runMismatch = "run_mismatch"
    }

    public var connectionId: String
    public var requestId: String
    public var reason: Reason
}
