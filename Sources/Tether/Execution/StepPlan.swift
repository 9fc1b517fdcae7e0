import Foundation
import TetherEngine
import TetherProtocol

/// The replay model's decisions for one request, as a value: which new step executes, which are reported to
/// the coordinator as planned operations, which wait, and what the request did (docs/semantics.md).
///
/// `ExecutionState` holds it under a lock and carries out its actions (runs a closure, suspends or resumes a
/// task). The rules:
/// - A memoized step replays.
/// - Untargeted request: the first new `run` step reached while no step is executing and none has executed
///   becomes the candidate and waits. If, once the body is quiescent, it is the only new step, it executes
///   here (a sequential step costs no extra round trip); if siblings were reached with it (`async let`, task
///   groups), it is reported with them as planned operations, so that all of them are dispatched at once.
///   Every other new step is recorded as an operation (`run` for a parallel step) and parks.
/// - Targeted request: only the target executes; every other new step parks without being reported.
/// - Once a failure is recorded, every step parks; once the request has finished, every step is interrupted.
struct StepPlan {
    /// What the request did, read once it has finished.
    struct Progress {
        /// The new step this request executed successfully, if any.
        var executed: Tether_V1_StepCompleted?
        /// New steps reached and not executed here, in the order they were reached (untargeted requests only).
        var ops: [Tether_V1_StepOp] = []
        /// The first failure of the request; it ends the request, whatever the body does after it.
        var failure: Tether_V1_StepFailed?
        /// In a targeted request: the target had a stored result, so it wasn't executed.
        var targetWasMemoized = false
    }

    /// What a step call does next.
    enum Action {
        /// Return (or throw) the stored result.
        case replay(Tether_V1_MemoizedStep)
        /// Run the closure of this `run` step.
        case execute(stepId: String)
        /// Wait until the request is quiescent, then run the closure of this `run` step if it is the only new
        /// step (the executor resumes it), or be interrupted as one of several planned steps.
        case executeIfAlone(stepId: String)
        /// A planned step in a unit-test context: carry out `op` locally.
        case unitTest(stepId: String, op: Tether_V1_StepOp.OneOf_Op)
        /// Wait for the end of the request (which interrupts the caller).
        case park
        /// Throw `StepInterrupt` now.
        case interrupt
        /// A unit-test context reports a mistake by throwing it.
        case reject(TetherError)
    }

    /// A step's operation, or why its arguments are invalid (a message naming the step).
    typealias OperationBuilder = () -> Result<Tether_V1_StepOp.OneOf_Op, StepArgumentError>

    let memoized: [String: Tether_V1_MemoizedStep]
    /// The only step a targeted request may execute.
    let target: String?

    /// Whether the replay has reached the target (always true for an untargeted request).
    var targetReached: Bool { target.map { seenIds.contains($0) } ?? true }
    let limits: Limits
    /// A `Context` built for a unit test: every `run` step executes and planned steps are carried out locally.
    let executesEveryStep: Bool

    private(set) var progress = Progress()
    /// Closures running now.
    private(set) var executing = 0
    /// The request's result has been taken; later steps are interrupted.
    private(set) var finished = false
    /// Bumped by everything that may change whether the request is quiescent, to notice a sibling task
    /// that reached a step while the executor was yielding.
    private(set) var changes = 0
    /// The new `run` step waiting to execute if it turns out to be the request's only new step.
    private(set) var candidate: String?
    private var occurrences: [String: Int] = [:]
    private var seenIds: Set<String> = []

    init(memoized: [Tether_V1_MemoizedStep], target: String?, limits: Limits, executesEveryStep: Bool) {
        self.memoized = Dictionary(memoized.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.target = target.flatMap { $0.isEmpty ? nil : $0 }
        self.limits = limits
        self.executesEveryStep = executesEveryStep
    }

    /// Decides what the step call `method("userId")` does.
    ///
    /// - Parameters:
    ///   - userId: The id the user gave.
    ///   - method: The call, such as `step.sleep`, for messages.
    ///   - operation: For a step the coordinator carries out, its operation; `nil` for `step.run`.
    ///   - enclosingStepId: The step whose closure the caller runs in, if any.
    ///   - now: The time of a failure recorded here.
    mutating func reach(
        _ userId: String,
        method: String,
        operation: OperationBuilder?,
        enclosingStepId: String?,
        now: Date
    ) -> Action {
        changes += 1
        if finished {
            return .interrupt
        }
        if let outer = enclosingStepId {
            let message =
                "\(method)(\"\(userId)\") was called inside step \"\(outer)\"; steps can't be nested. "
                + "Call it from the function's body instead."
            if executesEveryStep {
                return .reject(TetherError(.invalidInput, message))
            }
            // Thrown, not parked: the enclosing closure is running and would wait for it forever.
            fail(stepId: outer, code: .invalidInput, message: message, at: now)
            return .interrupt
        }
        if progress.failure != nil {
            return .park
        }
        if userId.isEmpty || userId.utf8.count > limits.maxIdentifierBytes {
            let shown = userId.isEmpty ? "an empty id" : "an id of \(userId.utf8.count) bytes"
            return invalid(
                stepId: "", code: .invalidInput,
                message: "\(method) was given \(shown); step ids must be 1 to \(limits.maxIdentifierBytes) bytes.",
                at: now)
        }
        let stepId = resolve(userId)
        if let step = memoized[stepId] {
            if stepId == target {
                progress.targetWasMemoized = true
            }
            return .replay(step)
        }
        if seenIds.count > limits.maxStepsPerRun {
            return invalid(
                stepId: stepId, code: .tooManySteps,
                message: "step \"\(stepId)\" would be step \(seenIds.count) of this run; a run may have at most "
                    + "\(limits.maxStepsPerRun). Split the work into several functions (or send events).",
                at: now)
        }
        guard let operation else {
            return reachRun(stepId)
        }
        let op: Tether_V1_StepOp.OneOf_Op
        switch operation() {
        case .success(let built):
            op = built
        case .failure(let problem):
            return invalid(stepId: stepId, code: .invalidInput, message: problem.message, at: now)
        }
        if executesEveryStep {
            return .unitTest(stepId: stepId, op: op)
        }
        if let target {
            if stepId == target {
                fail(
                    stepId: stepId, code: .nonDeterministic,
                    message: "step \"\(stepId)\" was dispatched as a step.run, but the function now reaches it as "
                        + "\(method). Did the code change while runs were in flight? Give the changed step a new id.",
                    at: now)
            }
            return .park
        }
        var planned = Tether_V1_StepOp()
        planned.stepID = stepId
        planned.op = op
        progress.ops.append(planned)
        return .park
    }

    /// A new `run` step: executes at once (a unit test, or a targeted request's target), becomes the
    /// candidate that executes if it stays alone, or waits as a planned parallel step.
    private mutating func reachRun(_ stepId: String) -> Action {
        if executesEveryStep || stepId == target {
            executing += 1
            return .execute(stepId: stepId)
        }
        if target != nil {
            return .park
        }
        var planned = Tether_V1_StepOp()
        planned.stepID = stepId
        planned.op = .run(Tether_V1_RunOp())
        progress.ops.append(planned)
        if progress.executed == nil && executing == 0 && candidate == nil {
            candidate = stepId
            return .executeIfAlone(stepId: stepId)
        }
        return .park
    }

    /// The id a step is stored under: the user's id, then `id:1`, `id:2`… when it repeats in the run.
    private mutating func resolve(_ userId: String) -> String {
        var n = occurrences[userId, default: 0]
        var stepId = n == 0 ? userId : "\(userId):\(n)"
        while seenIds.contains(stepId) {  // A user id such as "charge:1" already took the suffixed id.
            n += 1
            stepId = "\(userId):\(n)"
        }
        occurrences[userId] = n + 1
        seenIds.insert(stepId)
        return stepId
    }

    /// A step's closure returned (`completed`) or failed (`failure`).
    mutating func closureEnded(completed: Tether_V1_StepCompleted?, failure: Tether_V1_StepFailed?) {
        changes += 1
        executing -= 1
        if let completed, progress.executed == nil {
            progress.executed = completed
        }
        if let failure {
            record(failure)
        }
    }

    /// At quiescence: if the candidate is the request's only new step (no sibling step, no failure), it
    /// executes here; returns its id. Otherwise nil, and the candidate stays a planned operation.
    mutating func promoteCandidate() -> String? {
        guard let stepId = candidate, !finished, progress.failure == nil, progress.executed == nil,
            progress.ops.count == 1, progress.ops[0].stepID == stepId
        else { return nil }
        candidate = nil
        progress.ops.removeAll()
        executing += 1
        changes += 1
        return stepId
    }

    /// A parked task: one more reason the request may be quiescent.
    mutating func noteParked() {
        changes += 1
    }

    /// Ends the request and returns what it did; every later step call is interrupted.
    mutating func finish() -> Progress {
        finished = true
        return progress
    }

    // MARK: Failures

    /// A mistake in a step call: thrown at once in a unit-test context, otherwise recorded (the caller parks).
    private mutating func invalid(stepId: String, code: ErrorCode, message: String, at now: Date) -> Action {
        if executesEveryStep {
            return .reject(TetherError(code, message))
        }
        fail(stepId: stepId, code: code, message: message, at: now)
        return .park
    }

    mutating func fail(stepId: String, code: ErrorCode, message: String, at now: Date) {
        record(
            Tether_V1_StepFailed(
                stepId: stepId, error: Tether_V1_StepError(code: code, message: message, nonRetriable: true),
                startedAt: now, endedAt: now))
    }

    /// Keeps the first failure of the request: a nested step's failure outranks its enclosing step's.
    mutating func record(_ failure: Tether_V1_StepFailed) {
        changes += 1
        if progress.failure == nil {
            progress.failure = failure
        }
    }
}

/// Invalid arguments to a step call, such as a negative sleep; the run fails at once with `invalid_input`.
struct StepArgumentError: Error {
    /// What is wrong, naming the step and what to do.
    var message: String
}
