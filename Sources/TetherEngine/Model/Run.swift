/// The status of a run, as the HTTP API reports it (contract).
public enum RunStatus: String, Sendable, CaseIterable, Codable {
    case queued, running, sleeping, waiting, completed, failed, cancelled

    /// True when the run will never change again.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// The status of one step of a run.
public enum StepStatus: String, Sendable, CaseIterable, Codable {
    /// Attempted and failed, with attempts left: it will run again.
    case retrying
    case completed
    case failed
    /// A parallel `run` step reported by the function, waiting for (or in) its own dispatch.
    case pending
    /// A durable timer that has not fired yet.
    case sleeping
    /// A `waitForEvent` that has neither matched nor timed out.
    case waiting
    /// An `invoke` whose run has not ended.
    case invoking

    /// True when the step's result is stored and goes back to the worker on every replay.
    public var isMemoized: Bool { self == .completed || self == .failed }
}

/// What a step does.
public enum StepKind: String, Sendable, CaseIterable, Codable {
    /// `step.run`: user code on a worker.
    case run
    /// `step.sleep`: a durable timer.
    case sleep
    /// `step.waitForEvent`.
    case waitForEvent
    /// `step.sendEvent`.
    case sendEvent
    /// `step.invoke`: a run of another function.
    case invoke
}

/// An error stored with a failed step or run.
public struct RunError: Sendable, Equatable, Error {
    public var code: String
    public var message: String
    public var type: String

    public init(code: String, message: String, type: String = "") {
        self.code = code
        self.message = message
        self.type = type
    }
}

/// One step of a run: its memoized output once completed, its attempts and errors before.
public struct StepRecord: Sendable, Equatable {
    public var id: String
    public var status: StepStatus
    public var attempts: Int
    /// JSON output, for completed steps.
    public var output: [UInt8]
    public var error: RunError?
    /// Instance id of the worker that ran the last attempt.
    public var worker: String
    public var startedAtMilliseconds: Int64
    public var endedAtMilliseconds: Int64
    public var kind: StepKind
    /// When a sleep wakes or a wait times out; 0 means never.
    public var dueAtMilliseconds: Int64
    /// Earliest next attempt of a retrying parallel (`pending`) step.
    public var nextAttemptAtMilliseconds: Int64
    /// The event name a `waitForEvent` waits for.
    public var waitEvent: String
    /// The match expression of a `waitForEvent`, or empty.
    public var waitMatch: String
    /// The run an `invoke` started.
    public var childRunId: String

    public init(
        id: String, status: StepStatus, attempts: Int, output: [UInt8] = [], error: RunError? = nil,
        worker: String = "", startedAtMilliseconds: Int64 = 0, endedAtMilliseconds: Int64 = 0, kind: StepKind = .run,
        dueAtMilliseconds: Int64 = 0, nextAttemptAtMilliseconds: Int64 = 0, waitEvent: String = "",
        waitMatch: String = "", childRunId: String = ""
    ) {
        self.id = id
        self.status = status
        self.attempts = attempts
        self.output = output
        self.error = error
        self.worker = worker
        self.startedAtMilliseconds = startedAtMilliseconds
        self.endedAtMilliseconds = endedAtMilliseconds
        self.kind = kind
        self.dueAtMilliseconds = dueAtMilliseconds
        self.nextAttemptAtMilliseconds = nextAttemptAtMilliseconds
        self.waitEvent = waitEvent
        self.waitMatch = waitMatch
        self.childRunId = childRunId
    }
}

/// Everything known about a run; the unit the store persists.
///
/// `steps` holds the run's steps in the order they were first reported. Completed steps are
/// memoized: their outputs go back to the worker with every later dispatch.
public struct RunRecord: Sendable, Equatable {
    public var id: String
    /// The coordinator-wide function id (`app:slug`).
    public var functionId: String
    public var app: String
    /// The function's id within its app, as the SDK registered it.
    public var functionSlug: String
    public var status: RunStatus
    public var events: [EventRecord]
    public var output: [UInt8]?
    public var error: RunError?
    public var createdAtMilliseconds: Int64
    public var startedAtMilliseconds: Int64
    public var endedAtMilliseconds: Int64
    /// Failed attempts made so far at the step that has not completed yet.
    public var attempt: Int
    public var maxAttempts: Int
    /// Earliest time of the next dispatch (retry backoff); 0 means now.
    public var nextAttemptAtMilliseconds: Int64
    public var steps: [StepRecord]
    /// The request whose result was applied last: a worker resending it after a reconnect
    /// is answered "accepted" without applying it twice.
    public var lastRequestId: String
    /// For a run started by `step.invoke`: the parent run and the step this run resolves.
    public var parentRunId: String
    public var parentStepId: String
    /// The request the run's continuation is out under, while it is: stored with the header,
    /// so a restarted coordinator knows the run has a step running, and where.
    public var continuationLease: LeaseRecord?

    public init(
        id: String, functionId: String, app: String, functionSlug: String, status: RunStatus,
        events: [EventRecord], output: [UInt8]? = nil, error: RunError? = nil, createdAtMilliseconds: Int64,
        startedAtMilliseconds: Int64 = 0, endedAtMilliseconds: Int64 = 0, attempt: Int = 0, maxAttempts: Int,
        nextAttemptAtMilliseconds: Int64 = 0, steps: [StepRecord] = [], lastRequestId: String = "",
        parentRunId: String = "", parentStepId: String = "", continuationLease: LeaseRecord? = nil
    ) {
        self.id = id
        self.functionId = functionId
        self.app = app
        self.functionSlug = functionSlug
        self.status = status
        self.events = events
        self.output = output
        self.error = error
        self.createdAtMilliseconds = createdAtMilliseconds
        self.startedAtMilliseconds = startedAtMilliseconds
        self.endedAtMilliseconds = endedAtMilliseconds
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.nextAttemptAtMilliseconds = nextAttemptAtMilliseconds
        self.steps = steps
        self.lastRequestId = lastRequestId
        self.parentRunId = parentRunId
        self.parentStepId = parentStepId
        self.continuationLease = continuationLease
    }

    /// Number of completed (memoized) steps.
    public var completedStepCount: Int { steps.reduce(0) { $0 + ($1.status == .completed ? 1 : 0) } }
}
