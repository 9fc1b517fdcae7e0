import TetherEngine

/// What the coordinator made of one step result a worker reported: the `outcome` label of
/// `tether_step_results_total`. Read from the result and the effects of applying it, so the
/// scheduler's decisions (retry or fail for good) are reported without repeating its logic.
enum StepResultOutcome: String, Sendable, CaseIterable {
    /// A step ran and its output was memoized; the function has more to do.
    case completed
    /// The function reached steps the coordinator carries out (parallel steps, sleeps, waits,
    /// sends, invokes).
    case planned
    /// The function returned: the run completed.
    case runCompleted = "run_completed"
    /// A step (or the function body) threw and will be tried again.
    case retried
    /// A step failed for good; the function sees its error and may catch it.
    case failed
    /// The run failed: the function threw for good (or did not catch a failed step), or the
    /// result broke a limit (output or run state too large, too many steps).
    case runFailed = "run_failed"
    /// Not used: late (its lease expired or its connection died and the work went elsewhere),
    /// reported twice, or not matching the request.
    case rejected
    /// A resend of the result last applied to its run (after a reconnect): acknowledged again.
    case duplicate

    /// Classifies the result `outcome` of `requestId` for `runId`, given the `effects` of
    /// applying it (`CoordinatorCore.handleResult`).
    init(_ outcome: StepOutcome, runId: String, requestId: String, effects: Effects) {
        let accepted = effects.messages.contains {
            if case .resultAck(_, requestId, true) = $0 { return true }
            return false
        }
        guard accepted else {
            self = .rejected
            return
        }
        // An applied result always writes its run; an acknowledged resend writes nothing.
        var written: RunRecord?
        for write in effects.writes {
            if case .putRun(let run, _, _) = write, run.id == runId {
                written = run
                break
            }
        }
        guard let run = written else {
            self = .duplicate
            return
        }
        switch outcome {
        case .stepCompleted:
            self = run.status == .failed ? .runFailed : .completed
        case .stepsPlanned:
            self = run.status == .failed ? .runFailed : .planned
        case .runCompleted:
            self = run.status == .failed ? .runFailed : .runCompleted
        case .stepFailed(let failure) where failure.stepId.isEmpty:
            self = run.status == .failed ? .runFailed : .retried
        case .stepFailed(let failure):
            let step = run.steps.first { $0.id == failure.stepId }
            self = step?.status == .failed ? .failed : .retried
        }
    }
}
