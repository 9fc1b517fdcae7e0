/// An event as stored and delivered to functions: immutable JSON with a name.
public struct EventRecord: Sendable, Equatable {
    /// The event's id: the sender's `id` when given (idempotency), otherwise a generated ULID.
    public var id: String
    public var name: String
    /// The `data` object, as JSON bytes.
    public var data: [UInt8]
    /// The sender's `ts`, or the time the coordinator accepted the event.
    public var timestampMilliseconds: Int64
    /// The sender's `v` (schema version), or empty.
    public var version: String
    /// W3C `traceparent` of the span that accepted the event, when tracing is on (the runs it
    /// starts join that trace); empty otherwise. Opaque to the engine.
    public var traceParent: String

    public init(
        id: String, name: String, data: [UInt8], timestampMilliseconds: Int64, version: String = "", traceParent: String = ""
    ) {
        self.id = id
        self.name = name
        self.data = data
        self.timestampMilliseconds = timestampMilliseconds
        self.version = version
        self.traceParent = traceParent
    }
}

/// An event sent to the coordinator, before it has an id or a time.
public struct IncomingEvent: Sendable, Equatable {
    public var id: String?
    public var name: String
    public var data: [UInt8]
    public var timestampMilliseconds: Int64?
    public var version: String
    /// See ``EventRecord/traceParent``.
    public var traceParent: String

    public init(
        id: String? = nil, name: String, data: [UInt8], timestampMilliseconds: Int64? = nil, version: String = "",
        traceParent: String = ""
    ) {
        self.id = id
        self.name = name
        self.data = data
        self.timestampMilliseconds = timestampMilliseconds
        self.version = version
        self.traceParent = traceParent
    }
}

/// An event id the store already holds: the runs it started and when it was accepted.
public struct KnownEvent: Sendable, Equatable {
    public var runIds: [String]
    public var receivedAtMilliseconds: Int64

    public init(runIds: [String], receivedAtMilliseconds: Int64) {
        self.runIds = runIds
        self.receivedAtMilliseconds = receivedAtMilliseconds
    }
}

/// What the coordinator did with one sent event.
public struct EventReceipt: Sendable, Equatable {
    public var eventId: String
    public var runIds: [String]
    /// True when the event's id had been seen before and nothing new was started.
    public var duplicate: Bool
    /// Functions whose trigger matched but whose flow control started no run now: skipped
    /// (rate limit, singleton, idempotency key) or held (debounce, batch).
    public var flow: [FlowOutcome]

    public init(eventId: String, runIds: [String], duplicate: Bool = false, flow: [FlowOutcome] = []) {
        self.eventId = eventId
        self.runIds = runIds
        self.duplicate = duplicate
        self.flow = flow
    }
}
