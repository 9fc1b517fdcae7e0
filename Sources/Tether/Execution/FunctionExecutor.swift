import Foundation
import Logging
import TetherEngine
import TetherProtocol
import TetherTelemetry
import Tracing

/// Runs one StepRequest: replays the function with its memoized steps, executes at most one new `run` step,
/// and reports what happened (docs/semantics.md).
///
/// - A memoized step returns its stored output (or throws its stored `StepError`) without running.
/// - Untargeted request: the first new `run` step executes. Every other new step (a sleep, a wait, a send, an
///   invoke, or a `run` reached alongside or after the executed one) doesn't execute: its task parks, and the
///   step is reported as a planned operation.
/// - Targeted request (`target_step_id`): only that `run` step executes; every other new step parks unreported.
/// - The request ends when the body returns or throws, or when it is quiescent (no closure running, a step
///   parked). Parked steps then throw `StepInterrupt` so the body unwinds; a running closure is never cancelled.
/// - A step that throws gives `StepFailed` with its id; the body throwing outside steps gives `StepFailed`
///   with an empty step id.
///
/// The executor holds no mutable state, so one value serves any number of concurrent requests.
struct FunctionExecutor: Sendable {
    let functions: [String: TetherFunction]
    let limits: Limits
    let logger: Logger
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - functions: The worker's functions, by id, with their `onFailure` handlers (`<id>-failure`); call
    ///     `TetherFunction.validate` first (a repeated id keeps the first function).
    ///   - limits: The step output limit (`maxStepOutputBytes`), step id length and steps per run.
    ///   - logger: The base of each run's `ctx.logger`.
    ///   - now: The wall clock for step timings.
    init(
        functions: [TetherFunction],
        limits: Limits = .default,
        logger: Logger = Logger(label: "tether.function"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let all = functions + functions.compactMap { $0.failureHandler(app: nil) }
        self.functions = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.limits = limits
        self.logger = logger
        self.now = now
    }

    /// Executes `request` and returns its result; never throws (every failure is a `StepFailed`).
    func execute(_ request: Tether_V1_StepRequest) async -> Tether_V1_StepResult {
        let delivered = ResultBox()
        await execute(request) { delivered.value = $0 }
        return delivered.value
    }

    /// Executes `request` and hands its result to `deliver` as soon as it is known, then returns once the
    /// body has unwound. A request that ends quiescent does not wait for its parked steps to unwind before
    /// delivering: the worker sends the result one thread hand-off sooner.
    ///
    /// With a `tracer`, a request that carries a `traceparent` runs its new step's closure in a span, a
    /// child of the coordinator's dispatch span; code in the closure that calls `withSpan` makes its
    /// children (the tracer is the task's active one).
    func execute(
        _ request: Tether_V1_StepRequest, tracer: (any Tracer)? = nil, deliver: (Tether_V1_StepResult) -> Void
    ) async {
        var result = Tether_V1_StepResult()
        result.requestID = request.requestID
        result.runID = request.runID

        let slug = request.functionSlug.isEmpty ? request.functionID : request.functionSlug
        guard let function = functions[slug] else {
            let known = functions.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            result.stepFailed = Tether_V1_StepFailed(
                stepId: "",
                error: Tether_V1_StepError(
                    code: .functionNotFound,
                    message: "this worker has no function \"\(slug)\"; it registers \(known.isEmpty ? "none" : known). "
                        + "Is an older or newer version of the app connected?",
                    nonRetriable: true
                ),
                startedAt: now(),
                endedAt: now()
            )
            deliver(result)
            return
        }

        var logger = self.logger
        logger[metadataKey: "tether.function"] = "\(function.id)"
        logger[metadataKey: "tether.run"] = "\(request.runID)"
        let target = request.targetStepID.isEmpty ? nil : request.targetStepID
        let attempt = max(Int(request.attempt), 1)
        let trace = tracer.flatMap { tracer in
            request.traceParent.isEmpty
                ? nil
                : StepTrace(
                    tracer: tracer, parent: TraceParent.extract(request.traceParent, with: tracer), runId: request.runID,
                    functionId: function.id, attempt: attempt)
        }
        let state = ExecutionState(memoized: request.steps, target: target, limits: limits, trace: trace, now: now)
        let invocation = Invocation(
            events: request.events,
            runId: request.runID,
            attempt: attempt,
            state: state,
            logger: logger
        )

        let startedAt = now()
        // The body runs in a child task on the request's own executor, so that this one can end the request once
        // it is quiescent: no job of the body's tasks runnable, every step parked or waiting.
        let executor = RequestExecutor()
        executor.setOnIdle { [weak state] in state?.executorBecameIdle() }
        state.executor = executor
        async let body = withTaskExecutorPreference(executor) { await Self.run(function, invocation) }
        let (progress, bodyEnded) = await state.awaitEnd()
        // Quiescent (the body had not ended): its return value is ignored, so the result does not wait
        // for the parked steps to unwind; they unwind after it is delivered.
        let returned = bodyEnded ? await body : nil
        let ending = Ending(
            progress: progress, returned: returned, target: target, startedAt: startedAt, endedAt: now())
        result.outcome = outcome(ending, encoder: state.encoder)
        deliver(result)
        if !bodyEnded {
            _ = await body
        }
    }

    /// Carries a result out of `deliver` (it is called exactly once, before `execute` returns).
    private final class ResultBox: @unchecked Sendable {
        var value = Tether_V1_StepResult()
    }

    /// Runs the function's body and tells the state when it has ended.
    private static func run(
        _ function: TetherFunction,
        _ invocation: Invocation
    ) async -> Result<any Encodable & Sendable, any Error> {
        defer { invocation.state.bodyDidEnd() }
        do {
            return .success(try await function.invoke(invocation))
        } catch {
            return .failure(error)
        }
    }

    /// The function's return value as JSON, within the step output limit.
    func encodeOutput(_ value: any Encodable & Sendable, encoder: JSONEncoder) -> Result<Data, WireFailure> {
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
}
