import TetherEngine
import TetherProtocol

/// A durable function: an id, what triggers it, and a body made of memoized steps.
///
/// ```swift
/// let processOrder = TetherFunction("process-order", trigger: .event("order/created")) {
///     (ctx: Context<OrderCreated>) -> Receipt in
///     let chargeId: String = try await ctx.step.run("charge") { try await payments.charge(ctx.event.data) }
///     try await ctx.step.run("send-receipt") { try await mailer.send(chargeId) }
///     return Receipt(orderId: ctx.event.data.orderId, chargeId: chargeId)
/// }
/// ```
///
/// The body is replayed from the top each time the coordinator dispatches the run, so code outside
/// `ctx.step.run` must be deterministic and free of side effects; put every side effect in a step.
///
/// Configuration beyond triggers and retries is optional:
///
/// ```swift
/// let processOrder = TetherFunction(
///     "process-order", trigger: .event("order/created"),
///     cancelOn: [CancelOn(event: "order/cancelled", if: "async.data.orderId == event.data.orderId")],
///     timeouts: Timeouts(finish: .seconds(7 * 86_400)),
///     idempotency: "event.data.orderId",
///     onFailure: { (ctx: FailureContext<OrderCreated>) in
///         try await ctx.step.run("alert") { try await pager.alert("order \(ctx.event.data.orderId): \(ctx.error)") }
///     }
/// ) { (ctx: Context<OrderCreated>) in … }
/// ```
///
/// Flow control is added with modifiers, each returning a modified copy:
///
/// ```swift
/// let processOrder = TetherFunction("process-order", trigger: .event("order/created")) { … }
///     .concurrency(limit: 2, key: "event.data.customerId")
///     .throttle(limit: 100, per: .seconds(60))
/// ```
public struct TetherFunction: Sendable {
    /// The function's id, unique within the app (at most 256 UTF-8 bytes).
    public let id: String
    /// A human-readable name shown by the dashboard; `nil` shows the id.
    public let name: String?
    /// What starts a run: one or more events or cron schedules.
    public let triggers: [Trigger]
    /// Retries per step after the first attempt; `nil` means the coordinator's default (4).
    public let retries: Int?
    /// Events that cancel the function's running runs.
    public let cancelOn: [CancelOn]
    /// How long a run may wait to start and take to finish; `nil` means no limit.
    public let timeouts: Timeouts?
    /// An expression over `event` whose value keys runs: at most one run per distinct value per 24 hours.
    public let idempotency: String?
    /// Concurrency, throttle, rate limit, debounce, batching, priority and singleton, set with the flow-control
    /// modifiers such as `concurrency(limit:key:)`; none by default, and never for the `onFailure` handler.
    var flow: FlowControl = .none

    /// Runs the type-erased body once: decodes the events, builds the context, and calls the user's closure.
    let invoke: @Sendable (Invocation) async throws -> any Encodable & Sendable
    /// Runs the `onFailure` handler once, from a `tether/function.failed` event; nil without a handler.
    let invokeOnFailure: (@Sendable (Invocation) async throws -> any Encodable & Sendable)?

    /// Creates a function started by one trigger, whose body returns a `Codable` value as the run's output.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - trigger: What starts a run.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - cancelOn: Events that cancel running runs.
    ///   - timeouts: How long a run may wait to start and take to finish.
    ///   - idempotency: An expression over `event`, such as `"event.data.orderId"`: at most one run per value
    ///     per 24 hours.
    ///   - onFailure: Runs, as a durable function of its own (`<id>-failure`), after a run fails for good.
    ///   - body: The function. `Context<E>` gives the triggering event, decoded from JSON into `E`.
    public init<E: Decodable & Sendable, Output: Encodable & Sendable>(
        _ id: String,
        name: String? = nil,
        trigger: Trigger,
        retries: Int? = nil,
        cancelOn: [CancelOn] = [],
        timeouts: Timeouts? = nil,
        idempotency: String? = nil,
        onFailure: (@Sendable (FailureContext<E>) async throws -> Void)? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Output
    ) {
        self.init(
            id, name: name, triggers: [trigger], retries: retries, cancelOn: cancelOn, timeouts: timeouts,
            idempotency: idempotency, onFailure: onFailure, body)
    }

    /// Creates a function started by any of several triggers, whose body returns a `Codable` value.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - triggers: What starts a run; any one of them does.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - cancelOn: Events that cancel running runs.
    ///   - timeouts: How long a run may wait to start and take to finish.
    ///   - idempotency: An expression over `event`, such as `"event.data.orderId"`: at most one run per value
    ///     per 24 hours.
    ///   - onFailure: Runs, as a durable function of its own (`<id>-failure`), after a run fails for good.
    ///   - body: The function. `Context<E>` gives the triggering event, decoded from JSON into `E`.
    public init<E: Decodable & Sendable, Output: Encodable & Sendable>(
        _ id: String,
        name: String? = nil,
        triggers: [Trigger],
        retries: Int? = nil,
        cancelOn: [CancelOn] = [],
        timeouts: Timeouts? = nil,
        idempotency: String? = nil,
        onFailure: (@Sendable (FailureContext<E>) async throws -> Void)? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Output
    ) {
        let invoke: @Sendable (Invocation) async throws -> any Encodable & Sendable = { invocation in
            let context: Context<E> = try invocation.makeContext()
            return try await body(context)
        }
        var invokeOnFailure: (@Sendable (Invocation) async throws -> any Encodable & Sendable)?
        if let onFailure {
            invokeOnFailure = { invocation in
                let context: FailureContext<E> = try invocation.makeFailureContext()
                try await onFailure(context)
                return JSONNull()
            }
        }
        self.init(
            id: id,
            name: name,
            triggers: triggers,
            retries: retries,
            cancelOn: cancelOn,
            timeouts: timeouts,
            idempotency: idempotency,
            invoke: invoke,
            invokeOnFailure: invokeOnFailure
        )
    }

    /// Creates a function started by one trigger, whose body returns nothing.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - trigger: What starts a run.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - cancelOn: Events that cancel running runs.
    ///   - timeouts: How long a run may wait to start and take to finish.
    ///   - idempotency: An expression over `event`: at most one run per value per 24 hours.
    ///   - onFailure: Runs, as a durable function of its own (`<id>-failure`), after a run fails for good.
    ///   - body: The function. Its run's output is JSON `null`.
    public init<E: Decodable & Sendable>(
        _ id: String,
        name: String? = nil,
        trigger: Trigger,
        retries: Int? = nil,
        cancelOn: [CancelOn] = [],
        timeouts: Timeouts? = nil,
        idempotency: String? = nil,
        onFailure: (@Sendable (FailureContext<E>) async throws -> Void)? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Void
    ) {
        self.init(
            id, name: name, triggers: [trigger], retries: retries, cancelOn: cancelOn, timeouts: timeouts,
            idempotency: idempotency, onFailure: onFailure, body)
    }

    /// Creates a function started by any of several triggers, whose body returns nothing.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - triggers: What starts a run; any one of them does.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - cancelOn: Events that cancel running runs.
    ///   - timeouts: How long a run may wait to start and take to finish.
    ///   - idempotency: An expression over `event`: at most one run per value per 24 hours.
    ///   - onFailure: Runs, as a durable function of its own (`<id>-failure`), after a run fails for good.
    ///   - body: The function. Its run's output is JSON `null`.
    public init<E: Decodable & Sendable>(
        _ id: String,
        name: String? = nil,
        triggers: [Trigger],
        retries: Int? = nil,
        cancelOn: [CancelOn] = [],
        timeouts: Timeouts? = nil,
        idempotency: String? = nil,
        onFailure: (@Sendable (FailureContext<E>) async throws -> Void)? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Void
    ) {
        self.init(
            id, name: name, triggers: triggers, retries: retries, cancelOn: cancelOn, timeouts: timeouts,
            idempotency: idempotency, onFailure: onFailure
        ) { (context: Context<E>) -> JSONNull in
            try await body(context)
            return JSONNull()
        }
    }

    init(
        id: String,
        name: String?,
        triggers: [Trigger],
        retries: Int?,
        cancelOn: [CancelOn],
        timeouts: Timeouts?,
        idempotency: String?,
        invoke: @escaping @Sendable (Invocation) async throws -> any Encodable & Sendable,
        invokeOnFailure: (@Sendable (Invocation) async throws -> any Encodable & Sendable)?
    ) {
        self.id = id
        self.name = name
        self.triggers = triggers
        self.retries = retries
        self.cancelOn = cancelOn
        self.timeouts = timeouts
        self.idempotency = idempotency
        self.invoke = invoke
        self.invokeOnFailure = invokeOnFailure
    }

    /// The configuration the worker registers in its Hello (without the `onFailure` handler's: see
    /// `configs(app:)`).
    var config: Tether_V1_FunctionConfig {
        var config = Tether_V1_FunctionConfig()
        config.id = id
        config.name = name ?? id
        config.triggers = triggers.map(\.proto)
        if let retries, retries >= 0 {
            config.retries = UInt32(clamping: retries)
        }
        config.cancelOn = cancelOn.map(\.proto)
        config.timeoutStartMs = timeouts?.start.map(\.roundedUpMilliseconds) ?? 0
        config.timeoutFinishMs = timeouts?.finish.map(\.roundedUpMilliseconds) ?? 0
        config.idempotency = idempotency ?? ""
        config.setFlow(flow)
        return config
    }
}
