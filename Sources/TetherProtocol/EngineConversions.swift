import Foundation
import TetherEngine

extension Tether_V1_Event {
    /// The wire form of a stored event.
    public init(_ event: EventRecord) {
        self.init()
        id = event.id
        name = event.name
        data = Data(event.data)
        tsUnixMs = event.timestampMilliseconds
        v = event.version
    }
}

extension Tether_V1_StepRequest {
    /// The wire form of a dispatch decided by the scheduler.
    public init(_ dispatch: StepDispatch) {
        self.init()
        requestID = dispatch.requestId
        runID = dispatch.run.id
        functionID = dispatch.run.functionId
        functionSlug = dispatch.run.functionSlug
        events = dispatch.run.events.map(Tether_V1_Event.init)
        targetStepID = dispatch.targetStepId
        traceParent = dispatch.traceParent
        steps = dispatch.run.steps.compactMap { step in
            switch step.status {
            case .completed:
                var memo = Tether_V1_MemoizedStep()
                memo.id = step.id
                memo.output = Data(step.output)
                return memo
            case .failed:
                var memo = Tether_V1_MemoizedStep()
                memo.id = step.id
                memo.error = .with {
                    $0.code = step.error?.code ?? ErrorCode.stepFailed.rawValue
                    $0.message = step.error?.message ?? ""
                    $0.errorType = step.error?.type ?? ""
                    $0.nonRetriable = true
                }
                return memo
            case .retrying, .pending, .sleeping, .waiting, .invoking:
                return nil
            }
        }
        attempt = UInt32(clamping: dispatch.attempt)
        maxAttempts = UInt32(clamping: dispatch.run.maxAttempts)
        leaseDeadlineUnixMs = dispatch.leaseDeadlineMilliseconds
    }
}

extension StepCompletion {
    public init(_ message: Tether_V1_StepCompleted) {
        self.init(
            stepId: message.stepID, output: Array(message.output), startedAtMilliseconds: message.startedAtUnixMs,
            endedAtMilliseconds: message.endedAtUnixMs)
    }
}

extension StepOutcome {
    /// The scheduler's view of a worker's result.
    ///
    /// Throws `protocol_error` for a result the protocol does not allow: no outcome, a
    /// `step_completed` or a planned op without a step id, or a `steps_planned` with neither ops
    /// nor an executed step (acking it would dispatch the run again at once, for nothing).
    ///
    /// Every output must be UTF-8 JSON (each is parsed once, here). A step output that is not
    /// (`step_completed`, `steps_planned.executed`, `run_completed.last_step`) turns the result
    /// into a non-retriable `invalid_output` failure of that step; a function output that is
    /// not turns it into a non-retriable `invalid_output` failure with an empty step id, which
    /// fails the run.
    public init(_ result: Tether_V1_StepResult) throws(TetherError) {
        switch result.outcome {
        case .stepCompleted(let completed):
            guard !completed.stepID.isEmpty else {
                throw TetherError(.protocolError, "step_completed without a step id")
            }
            if let invalid = Self.invalidOutput(of: completed) {
                self = invalid
                return
            }
            self = .stepCompleted(StepCompletion(completed))
        case .runCompleted(let completed):
            if completed.hasLastStep, let invalid = Self.invalidOutput(of: completed.lastStep) {
                self = invalid
                return
            }
            if let problem = Self.jsonProblem(completed.output) {
                self = .stepFailed(
                    StepFailure(
                        stepId: "",
                        error: RunError(
                            code: ErrorCode.invalidOutput.rawValue,
                            message: "the function's output is not UTF-8 JSON: \(problem)"),
                        nonRetriable: true))
                return
            }
            self = .runCompleted(
                lastStep: completed.hasLastStep ? StepCompletion(completed.lastStep) : nil, output: Array(completed.output))
        case .stepFailed(let failed):
            self = .stepFailed(
                StepFailure(
                    stepId: failed.stepID,
                    error: RunError(
                        code: failed.error.code.isEmpty ? ErrorCode.stepFailed.rawValue : failed.error.code,
                        message: failed.error.message, type: failed.error.errorType),
                    nonRetriable: failed.error.nonRetriable,
                    retryAtMilliseconds: failed.error.retryAtUnixMs > 0 ? failed.error.retryAtUnixMs : nil,
                    startedAtMilliseconds: failed.startedAtUnixMs, endedAtMilliseconds: failed.endedAtUnixMs))
        case .stepsPlanned(let planned):
            guard !planned.ops.isEmpty || planned.hasExecuted else {
                throw TetherError(
                    .protocolError, "steps_planned with no ops and no executed step reports no progress")
            }
            var steps: [PlannedStep] = []
            steps.reserveCapacity(planned.ops.count)
            for op in planned.ops {
                guard !op.stepID.isEmpty else {
                    throw TetherError(.protocolError, "steps_planned with an empty step id")
                }
                steps.append(PlannedStep(stepId: op.stepID, operation: try PlannedOperation(op)))
            }
            if planned.hasExecuted, planned.executed.stepID.isEmpty {
                throw TetherError(.protocolError, "steps_planned executed a step without an id")
            }
            if planned.hasExecuted, let invalid = Self.invalidOutput(of: planned.executed) {
                self = invalid
                return
            }
            self = .stepsPlanned(executed: planned.hasExecuted ? StepCompletion(planned.executed) : nil, steps: steps)
        case nil:
            throw TetherError(.protocolError, "step result \(result.requestID) has no outcome")
        }
    }

    /// A non-retriable `invalid_output` failure of a completed step whose output is not JSON, or nil.
    static func invalidOutput(of completed: Tether_V1_StepCompleted) -> StepOutcome? {
        guard let problem = jsonProblem(completed.output) else { return nil }
        return .stepFailed(
            StepFailure(
                stepId: completed.stepID,
                error: RunError(
                    code: ErrorCode.invalidOutput.rawValue,
                    message: "step '\(completed.stepID)' reported an output that is not UTF-8 JSON: \(problem)"),
                nonRetriable: true, startedAtMilliseconds: completed.startedAtUnixMs,
                endedAtMilliseconds: completed.endedAtUnixMs))
    }

    /// Why `output` is not one UTF-8 JSON document (the parser's message), or nil when it is.
    static func jsonProblem(_ output: Data) -> String? {
        if output.isEmpty { return "the output is empty (a step or function without a value outputs null)" }
        do {
            _ = try JSONValue(parsing: output)
            return nil
        } catch {
            return error.message
        }
    }
}

extension PlannedOperation {
    /// The scheduler's view of one planned step; throws `protocol_error` for an op without a kind.
    public init(_ op: Tether_V1_StepOp) throws(TetherError) {
        switch op.op {
        case .run:
            self = .run
        case .sleep(let sleep):
            self = .sleep(durationMilliseconds: sleep.durationMs, untilMilliseconds: sleep.untilUnixMs)
        case .waitForEvent(let wait):
            self = .waitForEvent(
                event: wait.event, match: wait.match.isEmpty ? nil : wait.match, timeoutMilliseconds: wait.timeoutMs)
        case .sendEvent(let send):
            self = .sendEvent(
                send.events.map { event in
                    IncomingEvent(
                        id: event.id.isEmpty ? nil : event.id, name: event.name, data: Array(event.data),
                        timestampMilliseconds: event.tsUnixMs > 0 ? event.tsUnixMs : nil, version: event.v)
                })
        case .invoke(let invoke):
            self = .invoke(functionId: invoke.functionID, data: Array(invoke.data))
        case nil:
            throw TetherError(.protocolError, "step op '\(op.stepID)' has no operation")
        }
    }
}

extension FunctionDefinition {
    /// The definition a worker registered in its Hello.
    public init(_ config: Tether_V1_FunctionConfig, app: String) {
        let triggers: [TriggerDefinition] = config.triggers.map { trigger in
            switch trigger.kind {
            case .event(let event): .event(name: event.event, expression: event.expression.isEmpty ? nil : event.expression)
            case .cron(let cron): .cron(schedule: cron.schedule, timeZone: cron.timezone)
            case nil: .event(name: "", expression: nil)
            }
        }
        self.init(
            app: app, slug: config.id, name: config.name, triggers: triggers,
            retries: config.hasRetries ? Int(config.retries) : FunctionDefinition.defaultRetries,
            cancelOn: config.cancelOn.map { CancelOnDefinition(event: $0.event, match: $0.match) },
            timeoutStartMilliseconds: config.timeoutStartMs, timeoutFinishMilliseconds: config.timeoutFinishMs,
            idempotency: config.idempotency, flow: FlowControl(config))
    }
}

extension Tether_V1_FunctionConfig {
    /// The wire form of a function definition.
    public init(_ function: FunctionDefinition) {
        self.init()
        id = function.slug
        name = function.name
        retries = UInt32(clamping: function.retries)
        triggers = function.triggers.map(Tether_V1_Trigger.init)
        cancelOn = function.cancelOn.map { entry in
            .with {
                $0.event = entry.event
                $0.match = entry.match ?? ""
            }
        }
        timeoutStartMs = function.timeoutStartMilliseconds
        timeoutFinishMs = function.timeoutFinishMilliseconds
        idempotency = function.idempotency ?? ""
        setFlow(function.flow)
    }
}

extension Tether_V1_Trigger {
    public init(_ trigger: TriggerDefinition) {
        self.init()
        switch trigger {
        case .event(let name, let expression):
            event = .with {
                $0.event = name
                $0.expression = expression ?? ""
            }
        case .cron(let schedule, let timeZone):
            cron = .with {
                $0.schedule = schedule
                $0.timezone = timeZone
            }
        }
    }
}
