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
public struct TetherFunction: Sendable {
    /// The function's id, unique within the app (at most 256 UTF-8 bytes).
    public let id: String
    /// A human-readable name shown by the dashboard; `nil` shows the id.
    public let name: String?
    /// What starts a run: one or more events or cron schedules.
    public let triggers: [Trigger]
    /// Retries per step after the first attempt; `nil` means the coordinator's default (4).
    public let retries: Int?

    /// Runs the type-erased body once: decodes the events, builds the context, and calls the user's closure.
    let invoke: @Sendable (Invocation) async throws -> any Encodable & Sendable

    /// Creates a function started by one trigger, whose body returns a `Codable` value as the run's output.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - trigger: What starts a run.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - body: The function. `Context<E>` gives the triggering event, decoded from JSON into `E`.
    public init<E: Decodable & Sendable, Output: Encodable & Sendable>(
        _ id: String,
        name: String? = nil,
        trigger: Trigger,
        retries: Int? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Output
    ) {
        self.init(id, name: name, triggers: [trigger], retries: retries, body)
    }

    /// Creates a function started by any of several triggers, whose body returns a `Codable` value.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - triggers: What starts a run; any one of them does.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - body: The function. `Context<E>` gives the triggering event, decoded from JSON into `E`.
    public init<E: Decodable & Sendable, Output: Encodable & Sendable>(
        _ id: String,
        name: String? = nil,
        triggers: [Trigger],
        retries: Int? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Output
    ) {
        self.id = id
        self.name = name
        self.triggers = triggers
        self.retries = retries
        self.invoke = { invocation in
            let context: Context<E> = try invocation.makeContext()
            return try await body(context)
        }
    }

    /// Creates a function started by one trigger, whose body returns nothing.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - trigger: What starts a run.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - body: The function. Its run's output is JSON `null`.
    public init<E: Decodable & Sendable>(
        _ id: String,
        name: String? = nil,
        trigger: Trigger,
        retries: Int? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Void
    ) {
        self.init(id, name: name, triggers: [trigger], retries: retries, body)
    }

    /// Creates a function started by any of several triggers, whose body returns nothing.
    ///
    /// - Parameters:
    ///   - id: The function's id, unique within the app.
    ///   - name: A human-readable name for the dashboard.
    ///   - triggers: What starts a run; any one of them does.
    ///   - retries: Retries per step after the first attempt; `nil` means the default (4).
    ///   - body: The function. Its run's output is JSON `null`.
    public init<E: Decodable & Sendable>(
        _ id: String,
        name: String? = nil,
        triggers: [Trigger],
        retries: Int? = nil,
        _ body: @escaping @Sendable (Context<E>) async throws -> Void
    ) {
        self.init(id, name: name, triggers: triggers, retries: retries) { (context: Context<E>) -> JSONNull in
            try await body(context)
            return JSONNull()
        }
    }

    /// The configuration the worker registers in its Hello.
    var config: Tether_V1_FunctionConfig {
        var config = Tether_V1_FunctionConfig()
        config.id = id
        config.name = name ?? id
        config.triggers = triggers.map(\.proto)
        if let retries, retries >= 0 {
            config.retries = UInt32(clamping: retries)
        }
        return config
    }
}
