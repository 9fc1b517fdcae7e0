import Foundation
import TetherEngine
import TetherProtocol

extension FunctionExecutor {
    /// How a request ended: what its steps recorded and, if the body ended first, how.
    struct Ending {
        var progress: StepPlan.Progress
        /// The body's return value or error; nil when the request ended quiescent, with the body waiting on
        /// parked steps (it then only unwinds, and how it does is ignored).
        var returned: Result<any Encodable & Sendable, any Error>?
        /// The step a targeted request was to execute.
        var target: String?
        var startedAt: Date
        var endedAt: Date

        /// `step_failed` for `stepId` (empty: the body) over the request's time.
        func failed(_ stepId: String, _ error: Tether_V1_StepError) -> Tether_V1_StepResult.OneOf_Outcome {
            .stepFailed(Tether_V1_StepFailed(stepId: stepId, error: error, startedAt: startedAt, endedAt: endedAt))
        }
    }

    /// Decides what to report.
    ///
    /// A step executed by this request is always reported, even if something failed later: its output must be
    /// stored so that it never runs again. A later failure shows up again on the next replay.
    func outcome(_ ending: Ending, encoder: JSONEncoder) -> Tether_V1_StepResult.OneOf_Outcome {
        if let target = ending.target {
            return targetedOutcome(ending, target: target)
        }
        let progress = ending.progress
        if let failure = progress.failure {
            return progress.executed.map { .stepCompleted($0) } ?? .stepFailed(failure)
        }
        if !progress.ops.isEmpty {
            // One parallel `run` step after the executed one: the next untargeted request reaches it first and
            // executes it, so a plain step completion says all.
            if let executed = progress.executed, progress.ops.count == 1, case .run = progress.ops[0].op {
                return .stepCompleted(executed)
            }
            var planned = Tether_V1_StepsPlanned()
            if let executed = progress.executed {
                planned.executed = executed
            }
            planned.ops = progress.ops
            return .stepsPlanned(planned)
        }
        switch ending.returned {
        case .success(let value)?:
            switch encodeOutput(value, encoder: encoder) {
            case .success(let output):
                var completed = Tether_V1_RunCompleted()
                if let executed = progress.executed {
                    completed.lastStep = executed
                }
                completed.output = output
                return .runCompleted(completed)
            case .failure(let failure):
                return progress.executed.map { .stepCompleted($0) }
                    ?? ending.failed("", failure.error)
            }
        case .failure(let error)?:
            if let executed = progress.executed {
                return .stepCompleted(executed)
            }
            // `StepInterrupt` is only thrown after recording why; reaching here with it is an SDK bug.
            let wire =
                error is StepInterrupt
                ? Tether_V1_StepError(code: .internalError, message: "\(error)", nonRetriable: false)
                : Tether_V1_StepError(mapping: error)
            return ending.failed("", wire)
        case nil:
            // Quiescent without a failure or an operation: only a parked step can make it so, and steps only
            // park unreported after a failure or in a targeted request. An SDK bug.
            if let executed = progress.executed {
                return .stepCompleted(executed)
            }
            let wire = Tether_V1_StepError(
                code: .internalError, message: "the function stopped at a step without reporting it",
                nonRetriable: false)
            return ending.failed("", wire)
        }
    }

    /// A targeted request reports its target only: completed, failed, or not reached.
    private func targetedOutcome(_ ending: Ending, target: String) -> Tether_V1_StepResult.OneOf_Outcome {
        let progress = ending.progress
        if let executed = progress.executed {
            return .stepCompleted(executed)
        }
        if let failure = progress.failure {
            return .stepFailed(failure)
        }
        if case .failure(let error)? = ending.returned, !(error is StepInterrupt) {
            // The body failed before reaching the target, as it will on the next replay.
            let wire = Tether_V1_StepError(mapping: error)
            return ending.failed("", wire)
        }
        let wire: Tether_V1_StepError
        if progress.targetWasMemoized {
            wire = Tether_V1_StepError(
                code: .internalError,
                message: "the request asks to execute step \"\(target)\", which already has a stored result",
                nonRetriable: false)
        } else {
            // The body ended without reaching it: the code changed. Still parked after the grace period: most
            // likely a starved task, so the attempt is retried.
            let ended = ending.returned != nil
            wire = Tether_V1_StepError(
                code: .nonDeterministic,
                message: "step \"\(target)\" was dispatched to run, but replaying the function didn't reach it"
                    + (ended ? "" : " within \(ExecutionState.targetGrace)")
                    + ". Did the code change while runs were in flight? Give changed steps new ids.",
                nonRetriable: ended)
        }
        return ending.failed(target, wire)
    }
}
