import Foundation
import TetherProtocol

extension Step {
    /// Pauses the run for `duration`, durably: no worker waits, and the run resumes even after restarts.
    ///
    /// ```swift
    /// try await ctx.step.sleep("cool-off", for: .seconds(3_600))
    /// ```
    ///
    /// The coordinator arms a timer and replays the function when it fires; the worker is free meanwhile.
    /// The duration counts from when the coordinator records the sleep.
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - duration: From zero to a year (`Limits.maxSleepMilliseconds`); a negative or longer duration fails
    ///     the run at once with code `invalid_input`. Sub-millisecond parts are rounded up.
    /// - Throws: `StepError` when the sleep failed for good on an earlier run.
    ///
    /// In a unit-test `Context`, it returns at once.
    public func sleep(_ id: String, for duration: Duration) async throws {
        let limits = state.limits
        let now = state.now
        let planned = try await state.plannedStep(id, method: "step.sleep") {
            guard duration >= .zero else {
                return .failure(
                    StepArgumentError(
                        message: "step.sleep(\"\(id)\", for: \(duration)) was given a negative duration; "
                            + "sleep for zero or more."))
            }
            let milliseconds = duration.roundedUpMilliseconds
            guard milliseconds <= limits.maxSleepMilliseconds else {
                return .failure(
                    StepArgumentError(
                        message: "step.sleep(\"\(id)\", for: \(duration)) is longer than the limit of "
                            + "\(limits.maxSleepMilliseconds) ms (a year). Sleep in several steps, or schedule "
                            + "the work with a cron trigger."))
            }
            var sleep = Tether_V1_SleepOp()
            if milliseconds > 0 {
                sleep.durationMs = milliseconds
            } else {
                // `duration_ms` 0 means "use `until`": sleeping until now is over at once.
                sleep.untilUnixMs = max(1, now().unixMilliseconds)
            }
            return .success(.sleep(sleep))
        }
        try finishSleep(planned)
    }

    /// Pauses the run until `date`, durably: no worker waits, and the run resumes even after restarts.
    ///
    /// ```swift
    /// try await ctx.step.sleep("until-trial-ends", until: trialEnd)
    /// ```
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - date: When the run resumes: at most a year from now (`Limits.maxSleepMilliseconds`), or the run
    ///     fails at once with code `invalid_input`. A date in the past resumes the run at once.
    /// - Throws: `StepError` when the sleep failed for good on an earlier run.
    ///
    /// In a unit-test `Context`, it returns at once.
    public func sleep(_ id: String, until date: Date) async throws {
        let limits = state.limits
        let now = state.now
        let planned = try await state.plannedStep(id, method: "step.sleep") {
            let until = date.unixMilliseconds
            let current = now().unixMilliseconds
            guard until <= current + limits.maxSleepMilliseconds else {
                return .failure(
                    StepArgumentError(
                        message: "step.sleep(\"\(id)\", until: \(date)) is more than a year from now (the limit is "
                            + "\(limits.maxSleepMilliseconds) ms). Sleep in several steps, or schedule the work "
                            + "with a cron trigger."))
            }
            var sleep = Tether_V1_SleepOp()
            // 0 would mean "not set": any past time resumes the run at once.
            sleep.untilUnixMs = max(1, until)
            return .success(.sleep(sleep))
        }
        try finishSleep(planned)
    }

    /// A stored sleep is over (its output is JSON `null`, ignored); a failed one throws.
    private func finishSleep(_ planned: ExecutionState.PlannedStep) throws {
        if case .stored(let step) = planned {
            _ = try state.storedOutput(of: step)
        }
    }
}
