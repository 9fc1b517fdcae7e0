import Logging

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
    /// The attempt of the step about to run: 1 the first time, 2 on the first retry, and so on.
    public let attempt: Int
    /// Runs durable, memoized steps: `try await ctx.step.run("charge") { … }`.
    public let step: Step
    /// A logger whose metadata carries the run id and the function id.
    public let logger: Logger

    /// Creates a context, for example to call a function's body directly in a unit test.
    ///
    /// Steps of such a context are not durable: each `step.run` executes its closure and returns its value.
    public init(events: [Event<E>], runId: String = "test-run", attempt: Int = 1, logger: Logger? = nil) {
        precondition(!events.isEmpty, "A context needs at least one event")
        self.init(
            events: events,
            runId: runId,
            attempt: attempt,
            step: Step(state: ExecutionState(memoized: [], executesEveryStep: true)),
            logger: logger ?? Logger(label: "tether.function")
        )
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
