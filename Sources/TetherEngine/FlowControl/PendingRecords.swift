/// A debounce in progress: the last event of a burst, waiting for the burst to go quiet.
public struct DebounceRecord: Sendable, Equatable {
    /// Function id NUL key value.
    public var key: String
    public var functionId: String
    /// The last event received; the run starts with it.
    public var event: EventRecord
    /// When the burst's first event arrived (the `timeout` counts from it).
    public var firstAtMilliseconds: Int64
    /// When the run starts unless another event comes first.
    public var dueAtMilliseconds: Int64

    public init(key: String, functionId: String, event: EventRecord, firstAtMilliseconds: Int64, dueAtMilliseconds: Int64) {
        self.key = key
        self.functionId = functionId
        self.event = event
        self.firstAtMilliseconds = firstAtMilliseconds
        self.dueAtMilliseconds = dueAtMilliseconds
    }
}

/// A batch being collected: its events so far, and when it starts its run at the latest.
public struct BatchRecord: Sendable, Equatable {
    /// Function id NUL key value.
    public var key: String
    public var functionId: String
    /// The events, oldest first. The store keeps their ids (the events themselves are stored
    /// once, as accepted events) and resolves them when it loads the batch.
    public var events: [EventRecord]
    public var firstAtMilliseconds: Int64
    public var dueAtMilliseconds: Int64

    public init(key: String, functionId: String, events: [EventRecord], firstAtMilliseconds: Int64, dueAtMilliseconds: Int64) {
        self.key = key
        self.functionId = functionId
        self.events = events
        self.firstAtMilliseconds = firstAtMilliseconds
        self.dueAtMilliseconds = dueAtMilliseconds
    }

    /// Total bytes of the events' data.
    public var dataBytes: Int { events.reduce(0) { $0 + $1.data.count } }
}

/// What flow control did with an event for one function whose trigger matched it, when that
/// was not simply starting a run.
public struct FlowOutcome: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The function's idempotency key already ran within 24 h.
        case idempotent
        /// Over the function's `rateLimit`.
        case rateLimited = "rate_limited"
        /// A `singleton` run with the same key is active (mode `skip`).
        case singleton
        /// Held by `debounce`: a run starts when the events go quiet, with the last one.
        case debounced
        /// Added to a batch (`batchEvents`) that has not started its run yet.
        case batched
    }

    public var functionId: String
    public var kind: Kind

    public init(functionId: String, kind: Kind) {
        self.functionId = functionId
        self.kind = kind
    }

    /// True when the event will start no run of the function (rather than a later one).
    public var isSkipped: Bool { kind != .debounced && kind != .batched }
}
