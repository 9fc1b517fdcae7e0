/// Runs a function's durable steps.
///
/// Each step runs its closure at most once successfully: its output is stored as JSON, and every later
/// replay of the run returns the stored output without running the closure again. A step that throws is
/// retried on its own (with backoff) without re-running the steps before it.
///
/// ```swift
/// let reservation = try await ctx.step.run("reserve-stock") { try await stock.reserve(order) }
/// try await ctx.step.sleep("grace-period", for: .seconds(600))
/// let payment = try await ctx.step.waitForEvent(
///     "wait-for-payment", event: "payment/received", match: "async.data.orderId == event.data.orderId",
///     timeout: .seconds(86_400), as: Payment.self)
/// try await ctx.step.sendEvent("shipped", OutgoingEvent(name: "order/shipped", data: ["orderId": order.id]))
/// let label = try await ctx.step.invoke("label", function: "print-label", data: order, as: Label.self)
/// ```
///
/// Besides `run`, whose closure runs on the worker, the other steps are carried out by the coordinator:
/// `sleep(_:for:)` and `sleep(_:until:)` (durable timers), `waitForEvent(_:event:match:timeout:as:)`,
/// `sendEvent(_:_:)` and `invoke(_:function:data:as:)` (a child run). No worker
/// waits for them: the coordinator replays the function once they're done.
///
/// Steps may run in parallel: start them with `async let` or a task group, and the coordinator dispatches them
/// concurrently, possibly to different workers. Give each parallel step its own id (such as `"resize-\(i)"`):
/// a repeated id is numbered in the order the steps are reached, which varies between replays.
///
/// Every step shares the same ids: unique within the function, at most 256 bytes, never called from inside
/// another step's closure.
public struct Step: Sendable {
    let state: ExecutionState

    init(state: ExecutionState) {
        self.state = state
    }

    /// Runs a step that returns a `Codable` value, or returns that value from a previous run of the step.
    ///
    /// ```swift
    /// let chargeId: String = try await ctx.step.run("charge") { try await payments.charge(order) }
    /// ```
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///     Keep ids stable across deployments: runs in flight find their stored results by id.
    ///   - body: The step's work. Throw `NonRetriableError` to fail the run at once, or `RetryAfterError`
    ///     to choose when the next attempt starts; any other error is retried with backoff.
    /// - Returns: The closure's value, as its JSON encoding decodes (the same value every replay sees).
    /// - Throws: `StepError` when the step failed for good on an earlier attempt; catch it to compensate.
    public func run<T: Codable & Sendable>(_ id: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await state.runStep(id, body)
    }

    /// Runs a step that returns nothing, or skips it if it already completed in a previous run.
    ///
    /// ```swift
    /// try await ctx.step.run("send-receipt") { try await mailer.send(receipt) }
    /// ```
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - body: The step's work.
    /// - Throws: `StepError` when the step failed for good on an earlier attempt; catch it to compensate.
    public func run(_ id: String, _ body: @Sendable () async throws -> Void) async throws {
        _ = try await state.runStep(id) { () async throws -> JSONNull in
            try await body()
            return JSONNull()
        }
    }
}
