/// A function's flow control with its key and priority expressions parsed once.
struct FlowExpressions: Sendable {
    var definition: FlowControl
    var concurrencyKeys: [Expression?]
    var throttleKey: Expression?
    var rateLimitKey: Expression?
    var debounceKey: Expression?
    var batchKey: Expression?
    var priority: Expression?
    var singletonKey: Expression?

    init(_ definition: FlowControl = .none) {
        // Definitions are validated before they are installed; an expression that no longer
        // parses (restored from an older store) counts as absent.
        func parse(_ source: String?) -> Expression? { source.flatMap { try? Expression(parsing: $0) } }
        self.definition = definition
        concurrencyKeys = definition.concurrency.map { parse($0.key) }
        throttleKey = parse(definition.throttle?.key)
        rateLimitKey = parse(definition.rateLimit?.key)
        debounceKey = parse(definition.debounce?.key)
        batchKey = parse(definition.batchEvents?.key)
        priority = parse(definition.priority)
        singletonKey = parse(definition.singleton?.key)
    }

    /// The value of a key expression for an event, as the key's text: its JSON, or empty for
    /// a limit without a key.
    static func value(of key: Expression?, event: JSONValue) -> String {
        guard let key else { return "" }
        return String(decoding: key.evaluate(event: event).serialized(), as: UTF8.self)
    }

    /// The run's head start in milliseconds: the priority expression's number of seconds,
    /// clamped to −600…600; 0 when it is not a number.
    func priorityMilliseconds(event: JSONValue) -> Int64 {
        guard let priority else { return 0 }
        let seconds: Double
        switch priority.evaluate(event: event) {
        case .int(let value): seconds = Double(value)
        case .double(let value) where value.isFinite: seconds = value
        default: return 0
        }
        let range = FlowControl.priorityRangeSeconds
        let clamped = min(max(seconds, Double(range.lowerBound)), Double(range.upperBound))
        return Int64((clamped * 1_000).rounded())
    }
}

/// Flow-control facts of one active run, computed from its first event when it is created
/// (and again at restart): which concurrency keys its steps count against, its fairness lane,
/// its priority and its singleton key.
struct RunFlow: Sendable, Equatable {
    struct Constraint: Sendable, Equatable {
        /// Function id NUL `c` index NUL key value.
        var key: String
        var limit: Int
        /// True when the limit has a key (it parks one lane, not the whole function).
        var keyed: Bool
    }

    var constraints: [Constraint] = []
    /// The value of the first keyed concurrency limit, or empty.
    var lane = ""
    var priorityMilliseconds: Int64 = 0
    var singletonKey: String?
    /// Under a throttle: the key of the state that spaces the run starts actually made (see
    /// ``FlowKey/throttleStart(functionId:value:)``).
    var throttleStartKey: String?

    var isEmpty: Bool {
        constraints.isEmpty && lane.isEmpty && priorityMilliseconds == 0 && singletonKey == nil && throttleStartKey == nil
    }
}

/// When a throttle or rate-limit state goes idle (its TAT passes), so it can be forgotten.
struct FlowStateExpiry: Comparable, Sendable {
    var atMilliseconds: Int64
    var key: String

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.atMilliseconds, lhs.key) < (rhs.atMilliseconds, rhs.key) }
}

/// Keys of flow-control state: function id NUL key value, prefixed by the mechanism for the
/// GCRA states that share one key space in the store.
enum FlowKey {
    static func of(functionId: String, value: String) -> String { functionId + "\u{0}" + value }
    static func throttle(functionId: String, value: String) -> String { "t\u{0}" + of(functionId: functionId, value: value) }
    /// The throttle's second state: the starts actually made (a run late for its reserved time
    /// still waits for room under the limit here).
    static func throttleStart(functionId: String, value: String) -> String {
        "s\u{0}" + of(functionId: functionId, value: value)
    }
    static func rateLimit(functionId: String, value: String) -> String { "r\u{0}" + of(functionId: functionId, value: value) }
    static func concurrency(functionId: String, index: Int, value: String) -> String {
        functionId + "\u{0}c\(index)\u{0}" + value
    }
}
