import Foundation
import Logging
import TetherEngine
import TetherProtocol

/// Runs one StepRequest: replays the function with its memoized steps, executes the first new step, and
/// reports what happened (DESIGN.md §4).
///
/// - A memoized step returns its stored output (or throws its stored `StepError`) without running.
/// - The first new step runs; the body then continues until it returns (`RunCompleted` with `last_step`)
///   or reaches the next new step, which doesn't run (`StepCompleted`).
/// - A step that throws gives `StepFailed` with its id; the body throwing outside steps gives `StepFailed`
///   with an empty step id.
///
/// The body runs inline on the caller's task. The executor holds no mutable state, so one value serves
/// any number of concurrent requests.
struct FunctionExecutor: Sendable {
    let functions: [String: TetherFunction]
    let limits: Limits
    let logger: Logger
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - functions: The worker's functions, by id; call `TetherFunction.validate` first (a repeated id
    ///     keeps the first function).
    ///   - limits: The step output limit (`maxStepOutputBytes`), step id length and steps per run.
    ///   - logger: The base of each run's `ctx.logger`.
    ///   - now: The wall clock for step timings.
    init(
        functions: [TetherFunction],
        limits: Limits = .default,
        logger: Logger = Logger(label: "tether.function"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.functions = Dictionary(functions.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.limits = limits
        self.logger = logger
        self.now = now
    }

    /// Executes `request` and returns its result; never throws (every failure is a `StepFailed`).
    func execute(_ request: Tether_V1_StepRequest) async -> Tether_V1_StepResult {
        var result = Tether_V1_StepResult()
        result.requestID = request.requestID
        result.runID = request.runID

        let slug = request.functionSlug.isEmpty ? request.functionID : request.functionSlug
        guard let function = functions[slug] else {
            let known = functions.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            result.stepFailed = failed(
                stepId: "",
                Tether_V1_StepError(
                    code: .functionNotFound,
                    message: "this worker has no function \"\(slug)\"; it registers \(known.isEmpty ? "none" : known). "
                        + "Is an older or newer version of the app connected?",
                    nonRetriable: true
                ),
                startedAt: now(),
                endedAt: now()
            )
            return result
        }

        var logger = self.logger
        logger[metadataKey: "tether.function"] = "\(function.id)"
        logger[metadataKey: "tether.run"] = "\(request.runID)"
        let state = ExecutionState(memoized: request.steps, limits: limits, now: now)
        let invocation = Invocation(
            events: request.events,
            runId: request.runID,
            attempt: max(Int(request.attempt), 1),
            state: state,
            logger: logger
        )

        let startedAt = now()
        let returned: Result<any Encodable & Sendable, any Error>
        do {
            returned = .success(try await function.invoke(invocation))
        } catch {
            returned = .failure(error)
        }
        let endedAt = now()
        result.outcome = outcome(
            state.snapshot, returned, encoder: state.encoder, startedAt: startedAt, endedAt: endedAt)
        return result
    }

    /// Decides what to report, from what the steps recorded and how the body ended.
    ///
    /// A step executed by this request is always reported, even if the body then failed: its output must be
    /// stored so that it never runs again. A later failure shows up again on the next replay.
    private func outcome(
        _ progress: ExecutionState.Progress,
        _ returned: Result<any Encodable & Sendable, any Error>,
        encoder: JSONEncoder,
        startedAt: Date,
        endedAt: Date
    ) -> Tether_V1_StepResult.OneOf_Outcome {
        if let executed = progress.executed {
            if progress.discovered == nil, progress.failure == nil, case .success(let value) = returned,
                case .success(let output) = encodeOutput(value, encoder: encoder)
            {
                var completed = Tether_V1_RunCompleted()
                completed.lastStep = executed
                completed.output = output
                return .runCompleted(completed)
            }
            return .stepCompleted(executed)
        }
        if let failure = progress.failure {
            return .stepFailed(failure)
        }
        switch returned {
        case .success(let value):
            switch encodeOutput(value, encoder: encoder) {
            case .success(let output):
                var completed = Tether_V1_RunCompleted()
                completed.output = output
                return .runCompleted(completed)
            case .failure(let failure):
                return .stepFailed(failed(stepId: "", failure.error, startedAt: startedAt, endedAt: endedAt))
            }
        case .failure(let error as StepInterrupt):
            // Only `step.run` throws it, and only after recording why; reaching here is an SDK bug.
            let wire = Tether_V1_StepError(code: .internalError, message: error.description, nonRetriable: false)
            return .stepFailed(failed(stepId: "", wire, startedAt: startedAt, endedAt: endedAt))
        case .failure(let error):
            let wire = Tether_V1_StepError(mapping: error)
            return .stepFailed(failed(stepId: "", wire, startedAt: startedAt, endedAt: endedAt))
        }
    }

    /// The function's return value as JSON, within the step output limit.
    private func encodeOutput(_ value: any Encodable & Sendable, encoder: JSONEncoder) -> Result<Data, WireFailure> {
        let output: Data
        do {
            output = try encoder.encode(value)
        } catch {
            var wire = Tether_V1_StepError(mapping: error)
            wire.message = "the function's return value doesn't encode as JSON: \(wire.message)"
            return .failure(WireFailure(error: wire))
        }
        guard output.count <= limits.maxStepOutputBytes else {
            return .failure(
                WireFailure(
                    error: Tether_V1_StepError(
                        code: .outputTooLarge,
                        message: "the function's return value is \(output.count) bytes of JSON; the limit is "
                            + "\(limits.maxStepOutputBytes). Store large data elsewhere and return a reference to it.",
                        nonRetriable: true,
                        errorType: String(describing: type(of: value))
                    ))
            )
        }
        return .success(output)
    }

    private func failed(
        stepId: String,
        _ error: Tether_V1_StepError,
        startedAt: Date,
        endedAt: Date
    ) -> Tether_V1_StepFailed {
        var failed = Tether_V1_StepFailed()
        failed.stepID = stepId
        failed.error = error
        failed.startedAtUnixMs = startedAt.unixMilliseconds
        failed.endedAtUnixMs = endedAt.unixMilliseconds
        return failed
    }
}
