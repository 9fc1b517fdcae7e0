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

/// What a worker reported for one step request.
public enum StepOutcome: Sendable, Equatable {
    /// One new step ran; the function has more to do.
    case stepCompleted(StepCompletion)
    /// The function returned `output`, after running `lastStep` in the same request if set.
    case runCompleted(lastStep: StepCompletion?, output: [UInt8])
    case stepFailed(StepFailure)
}
