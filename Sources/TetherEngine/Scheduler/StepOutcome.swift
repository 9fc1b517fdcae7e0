/// A step a worker executed successfully.
public struct StepCompletion: Sendable, Equatable {
    public var stepId: String
    public var output: [UInt8]
    public var startedAtMilliseconds: Int64
    public var endedAtMilliseconds: Int64

    public init(stepId: String, output: [UInt8], startedAtMilliseconds: Int64 = 0, endedAtMilliseconds: Int64 = 0) {
        self.stepId = stepId
        self.output = output
        self.startedAtMilliseconds = startedAtMilliseconds
        self.endedAtMilliseconds = endedAtMilliseconds
    }
}

/// A step (or the function body, when `stepId` is empty) that threw.
public struct StepFailure: Sendable, Equatable {
    public var stepId: String
    public var error: RunError
    public var nonRetriable: Bool
    /// The worker asked for the next attempt not to start before this time.
    public var retryAtMilliseconds: Int64?
    public var startedAtMilliseconds: Int64
    public var endedAtMilliseconds: Int64

    public init(
        stepId: String, error: RunError, nonRetriable: Bool = false, retryAtMilliseconds: Int64? = nil,
        startedAtMilliseconds: Int64 = 0, endedAtMilliseconds: Int64 = 0
    ) {
        self.stepId = stepId
        self.error = error
        self.nonRetriable = nonRetriable
        self.retryAtMilliseconds = retryAtMilliseconds
        self.startedAtMilliseconds = startedAtMilliseconds
        self.endedAtMilliseconds = endedAtMilliseconds
    }
}

/// A step the function reached but did not execute itself; the coordinator carries it out.
public enum PlannedOperation: Sendable, Equatable {
    /// A `step.run` reached alongside other steps: dispatched on its own, in parallel.
    case run
    /// A durable timer: for `durationMilliseconds` from when it is recorded, or until
    /// `untilMilliseconds` when the duration is 0.
    case sleep(durationMilliseconds: Int64, untilMilliseconds: Int64)
    /// Wait for an event named `event` matching `match`, for at most `timeoutMilliseconds`.
    case waitForEvent(event: String, match: String?, timeoutMilliseconds: Int64)
    /// Send events, exactly once per run.
    case sendEvent([IncomingEvent])
    /// Start a run of `functionId` (`slug` or `app:slug`) with `data` (a JSON object).
    case invoke(functionId: String, data: [UInt8])
}

/// A step id with what the coordinator must do for it.
public struct PlannedStep: Sendable, Equatable {
    public var stepId: String
    public var operation: PlannedOperation

    public init(stepId: String, operation: PlannedOperation) {
        self.stepId = stepId
        self.operation = operation
    }
}

/// What a worker reported for one step request.
public enum StepOutcome: Sendable, Equatable {
    /// One new step ran; the function has more to do.
    case stepCompleted(StepCompletion)
    /// The function returned `output`, after running `lastStep` in the same request if set.
    case runCompleted(lastStep: StepCompletion?, output: [UInt8])
    case stepFailed(StepFailure)
    /// The function reached steps the coordinator carries out (parallel steps, sleeps, waits,
    /// sends, invokes), after executing `executed` in the same request if set.
    case stepsPlanned(executed: StepCompletion?, steps: [PlannedStep])
}
