import Foundation
import Logging
import TetherEngine
import TetherProtocol

/// What a function's body receives: the triggering event, the run, and the step API.
///
/// `E` is the type of the event's `data`; the worker decodes the event's JSON into it. If the JSON doesn't
/// fit `E`, the run fails at once with code `invalid_input` and a message naming the missing or mistyped field.
public struct Context<E: Decodable & Sendable>: Sendable {
    /// The event that started the run (the first one, for a batch).
    public let event: Event<E>
    /// Every event of the run: one, or several when the function batches events.
    public let events: [Event<E>]
    /// The run's id, the same on every replay of it.
    public let runId: String
    /// The attempt of the step about to run: 1 the first time, 2 on the first retry, and so on. (When parallel
    /// steps are dispatched one by one, it counts the attempts of the step this request executes.)
    public let attempt: Int
    /// Runs durable, memoized steps: `try await ctx.step.run("charge") { … }`.
    public let step: Step
    /// A logger whose metadata carries the run id and the function id.
    public let logger: Logger

    /// Creates a context, for example to call a function's body directly in a unit test.
    ///
    /// Steps of such a context are not durable, and nothing reaches a coordinator:
    /// - `step.run` executes its closure and returns its value (a thrown error is rethrown as is);
    /// - `step.sleep` returns at once;
    /// - `step.waitForEvent` returns nil, as at its timeout;
    /// - `step.sendEvent` sends nothing and returns each event's `id`, or a generated one;
    /// - `step.invoke` throws `TetherError`, since no other function runs.
    ///
    /// A step whose id is in `stepOutputs` returns that output instead, as if an earlier run had stored it:
    ///
    /// ```swift
    /// let ctx = Context(
    ///     events: [Event(name: "order/created", data: order)],
    ///     stepOutputs: [
    ///         "wait-for-payment": ["name": "payment/received", "data": ["orderId": "o-1"], "ts": 0],
    ///         "print-label": ["url": "https://labels.example/o-1.pdf"],
    ///     ])
    /// let receipt = try await processOrderBody(ctx)
    /// ```
    ///
    /// - Parameters:
    ///   - events: The run's events; the first is `event`.
    ///   - runId: The run's id.
    ///   - attempt: The attempt number the body sees.
    ///   - logger: The context's logger.
    ///   - stepOutputs: Outputs by step id (with its `:n` suffix if the id repeats): a `run`'s or `invoke`'s
    ///     value, a `waitForEvent`'s event as `{"id","name","data","ts","v"}` (`ts` in Unix milliseconds) or
    ///     `null`, a `sendEvent`'s `{"ids": […]}`.
    public init(
        events: [Event<E>],
        runId: String = "test-run",
        attempt: Int = 1,
        logger: Logger? = nil,
        stepOutputs: [String: JSONValue] = [:]
    ) {
        precondition(!events.isEmpty, "A context needs at least one event")
        self.init(
            events: events,
            runId: runId,
            attempt: attempt,
            step: Step(state: ExecutionState(memoized: Self.memoized(stepOutputs), executesEveryStep: true)),
            logger: logger ?? Logger(label: "tether.function")
        )
    }

    /// `stepOutputs` as stored steps.
    static func memoized(_ stepOutputs: [String: JSONValue]) -> [Tether_V1_MemoizedStep] {
        stepOutputs.map { id, output in
            var step = Tether_V1_MemoizedStep()
            step.id = id
            step.output = Data(output.serialized())
            return step
        }
    }

    init(events: [Event<E>], runId: String, attempt: Int, step: Step, logger: Logger) {
        self.event = events[0]
        self.events = events
        self.runId = runId
        self.attempt = attempt
        self.step = step
        self.logger = logger
    }
}
