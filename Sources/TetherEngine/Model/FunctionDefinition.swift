/// What starts a function.
public enum TriggerDefinition: Sendable, Equatable, Hashable {
    /// An event name (a trailing `/*` matches every name with that prefix) with an optional
    /// match expression over `event`.
    case event(name: String, expression: String?)
    /// A 5-field cron schedule in a time zone (empty means UTC).
    case cron(schedule: String, timeZone: String)
}

extension TriggerDefinition {
    /// Why this trigger cannot be used (a bad event name, expression or cron schedule), or nil.
    public func problem(limits: Limits = .default) -> String? {
        switch self {
        case .event(let name, let expression):
            if let problem = FunctionDefinition.eventNameProblem(name, limits: limits) { return problem }
            if let expression, !expression.isEmpty {
                do {
                    _ = try Expression(parsing: expression)
                } catch {
                    return "invalid expression \"\(expression)\": \(error)"
                }
            }
        case .cron(let schedule, let timeZone):
            do {
                _ = try CronSchedule(parsing: schedule, timeZone: timeZone.isEmpty ? nil : timeZone)
            } catch {
                return "invalid cron schedule \"\(schedule)\": \(error)"
            }
        }
        return nil
    }
}

/// An event that cancels a function's active runs when its `match` holds.
public struct CancelOnDefinition: Sendable, Equatable, Hashable {
    public var event: String
    /// Expression over `event` (the run's trigger) and `async` (the cancelling event); nil
    /// cancels every active run of the function.
    public var match: String?

    public init(event: String, match: String? = nil) {
        self.event = event
        self.match = match.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A function as a worker registered it: identity, triggers and configuration.
public struct FunctionDefinition: Sendable, Equatable {
    /// Coordinator-wide id, `app:slug`.
    public var id: String { Self.makeID(app: app, slug: slug) }
    public var app: String
    /// The id the SDK gave the function, unique within its app.
    public var slug: String
    public var name: String
    public var triggers: [TriggerDefinition]
    /// Retries per step after the first attempt.
    public var retries: Int
    /// Events that cancel active runs.
    public var cancelOn: [CancelOnDefinition]
    /// A run not started (first dispatch) within this long of its creation is cancelled; 0: no limit.
    public var timeoutStartMilliseconds: Int64
    /// A run not finished within this long of its start is cancelled; 0: no limit.
    public var timeoutFinishMilliseconds: Int64
    /// Expression over `event` whose value keys runs: at most one run per value per 24 h.
    public var idempotency: String?
    /// Concurrency, throttle, rate limit, debounce, batching, priority and singleton.
    public var flow: FlowControl

    public static let defaultRetries = 4
    public static let maxRetries = 20
    /// Most `cancelOn` entries per function.
    public static let maxCancelOn = 10
    /// Longest run timeout accepted (a year, like timers).
    public static let maxTimeoutMilliseconds: Int64 = 366 * 24 * 3_600_000

    public init(
        app: String, slug: String, name: String, triggers: [TriggerDefinition], retries: Int = Self.defaultRetries,
        cancelOn: [CancelOnDefinition] = [], timeoutStartMilliseconds: Int64 = 0, timeoutFinishMilliseconds: Int64 = 0,
        idempotency: String? = nil, flow: FlowControl = .none
    ) {
        self.app = app
        self.slug = slug
        self.name = name.isEmpty ? slug : name
        self.triggers = triggers
        self.retries = retries
        self.cancelOn = cancelOn
        self.timeoutStartMilliseconds = timeoutStartMilliseconds
        self.timeoutFinishMilliseconds = timeoutFinishMilliseconds
        self.idempotency = idempotency.flatMap { $0.isEmpty ? nil : $0 }
        self.flow = flow
    }

    public static func makeID(app: String, slug: String) -> String { "\(app):\(slug)" }

    /// Attempts per step: the first plus the retries.
    public var maxAttempts: Int { retries + 1 }
}

extension FunctionDefinition {
    /// Checks the definition, returning an `invalid_config` error naming the function and the problem.
    public func validate(limits: Limits = .default) throws(TetherError) {
        func fail(_ problem: String) -> TetherError {
            TetherError(.invalidConfig, "function '\(slug)' of app '\(app)': \(problem)")
        }
        guard Self.isValidName(app, limits: limits) else {
            throw fail("app name must be 1-\(limits.maxIdentifierBytes) characters of A-Z a-z 0-9 . _ -")
        }
        guard Self.isValidName(slug, limits: limits) else {
            throw fail("function id must be 1-\(limits.maxIdentifierBytes) characters of A-Z a-z 0-9 . _ -")
        }
        guard !triggers.isEmpty else { throw fail("at least one trigger is required") }
        guard triggers.count <= 10 else { throw fail("at most 10 triggers are allowed, got \(triggers.count)") }
        guard (0...Self.maxRetries).contains(retries) else {
            throw fail("retries must be between 0 and \(Self.maxRetries), got \(retries)")
        }
        for (index, trigger) in triggers.enumerated() {
            if let problem = trigger.problem(limits: limits) {
                throw fail("trigger \(index + 1): \(problem)")
            }
        }
        guard cancelOn.count <= Self.maxCancelOn else {
            throw fail("at most \(Self.maxCancelOn) cancelOn entries are allowed, got \(cancelOn.count)")
        }
        for (index, entry) in cancelOn.enumerated() {
            if entry.event.hasSuffix("/*") {
                throw fail("cancelOn \(index + 1): event name '\(entry.event)' must be exact, not a prefix")
            }
            if let problem = TriggerDefinition.event(name: entry.event, expression: entry.match).problem(limits: limits) {
                throw fail("cancelOn \(index + 1): \(problem)")
            }
        }
        for (name, value) in [("timeouts.start", timeoutStartMilliseconds), ("timeouts.finish", timeoutFinishMilliseconds)] {
            guard (0...Self.maxTimeoutMilliseconds).contains(value) else {
                throw fail("\(name) must be between 0 and \(Self.maxTimeoutMilliseconds) ms, got \(value)")
            }
        }
        if let idempotency, let problem = FlowControl.expressionProblem("idempotency", idempotency) {
            throw fail(problem)
        }
        if let problem = flow.problem(limits: limits) { throw fail(problem) }
    }

    static func isValidName(_ name: String, limits: Limits) -> Bool {
        guard !name.isEmpty, name.utf8.count <= limits.maxIdentifierBytes else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    /// Why `name` is not a valid event name, or nil when it is.
    public static func eventNameProblem(_ name: String, limits: Limits = .default) -> String? {
        if name.isEmpty { return "event name is empty" }
        if name.utf8.count > limits.maxIdentifierBytes {
            return "event name is longer than \(limits.maxIdentifierBytes) bytes"
        }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "event name '\(name)' contains whitespace or control characters"
        }
        if name.dropLast(2).contains("*") || (name.contains("*") && !name.hasSuffix("/*")) {
            return "event name '\(name)': '*' is only allowed as a trailing '/*' prefix wildcard"
        }
        return nil
    }
}
