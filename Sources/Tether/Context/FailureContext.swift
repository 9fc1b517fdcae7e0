import Foundation
import Logging
import TetherEngine
import TetherProtocol

/// What a function's `onFailure` handler receives: the failed run's event and error, and the step API.
///
/// ```swift
/// let processOrder = TetherFunction(
///     "process-order", trigger: .event("order/created"),
///     onFailure: { (ctx: FailureContext<OrderCreated>) in
///         try await ctx.step.run("refund") { try await payments.refund(ctx.event.data.orderId) }
///     }
/// ) { (ctx: Context<OrderCreated>) in … }
/// ```
///
/// The handler is a function of its own, with the id `<id>-failure`: the coordinator starts a run of it for every
/// run of the function that fails for good (not for cancelled runs), so its steps are durable like any other.
public struct FailureContext<E: Decodable & Sendable>: Sendable {
    /// The event that started the failed run, decoded like the function's own `Context` event.
    public let event: Event<E>
    /// Why the run failed.
    public let error: RunFailure
    /// The id of the run that failed.
    public let runId: String
    /// The failed function's coordinator-wide id, `app:id`.
    public let functionId: String
    /// The attempt of the handler's step about to run: 1 the first time, 2 on the first retry, and so on.
    public let attempt: Int
    /// Runs durable steps in the handler's own run.
    public let step: Step
    /// A logger whose metadata carries the handler's run id and function id.
    public let logger: Logger

    /// Creates a failure context, for example to call an `onFailure` handler directly in a unit test.
    ///
    /// Its steps behave as those of a unit-test `Context`: `run` executes its closure, `sleep` returns at once,
    /// and so on.
    ///
    /// - Parameters:
    ///   - event: The failed run's event.
    ///   - error: Why the run failed.
    ///   - runId: The failed run's id.
    ///   - functionId: The failed function's id, `app:id`.
    ///   - logger: The context's logger.
    public init(
        event: Event<E>,
        error: RunFailure,
        runId: String = "test-run",
        functionId: String = "",
        logger: Logger? = nil
    ) {
        self.init(
            event: event,
            error: error,
            runId: runId,
            functionId: functionId,
            attempt: 1,
            step: Step(state: ExecutionState(memoized: [], executesEveryStep: true)),
            logger: logger ?? Logger(label: "tether.function")
        )
    }

    init(
        event: Event<E>, error: RunFailure, runId: String, functionId: String, attempt: Int, step: Step,
        logger: Logger
    ) {
        self.event = event
        self.error = error
        self.runId = runId
        self.functionId = functionId
        self.attempt = attempt
        self.step = step
        self.logger = logger
    }
}

extension Invocation {
    /// Decodes a `tether/function.failed` event into the context an `onFailure` handler receives.
    ///
    /// The event's data is `{"function_id","run_id","error":{"code","message"},"event":{"id","name","data","ts","v"}}`.
    ///
    /// - Throws: `InvalidRequestError` when the event isn't of that shape; `EventDecodingError` when the failed
    ///   run's event data doesn't decode as `E`.
    func makeFailureContext<E: Decodable & Sendable>() throws -> FailureContext<E> {
        guard let failed = events.first else {
            throw InvalidRequestError(description: "the request for run \(runId) carries no event")
        }
        let data = try? JSONValue(parsing: failed.data)
        guard let original = data?["event"].flatMap(Tether_V1_Event.init(json:)) else {
            throw InvalidRequestError(
                description: "the \"\(failed.name)\" event \(failed.id) that started this failure handler has no "
                    + "\"event\" object with a name; expected {\"function_id\", \"run_id\", \"error\", \"event\"}"
            )
        }
        let error = data?["error"]
        return FailureContext(
            event: try Self.decode(original, as: E.self, using: state.decoder),
            error: RunFailure(
                code: error?["code"]?.stringValue ?? ErrorCode.stepFailed.rawValue,
                message: error?["message"]?.stringValue ?? ""
            ),
            runId: data?["run_id"]?.stringValue ?? "",
            functionId: data?["function_id"]?.stringValue ?? "",
            attempt: attempt,
            step: Step(state: state),
            logger: logger
        )
    }
}
