/// A function's flow control (docs/flow-control.md): how many of its steps may run at once, how fast its
/// runs start, which events start no run or wait for others, and in what order its queue drains.
///
/// Keys are expressions over the triggering `event`; their value (serialized as JSON, so `"a"`
/// and `1` are different keys, and a missing path is the key `null`) splits the limit per
/// tenant, user or anything the event names. All of it is enforced by the coordinator.
public struct FlowControl: Sendable, Equatable, Hashable {
    /// Up to two limits on running steps (not sleeping or waiting runs).
    public var concurrency: [ConcurrencyLimit]
    /// Run starts per period; excess runs are queued, never dropped.
    public var throttle: Throttle?
    /// Run starts per period; excess events start no run.
    public var rateLimit: RateLimit?
    /// One run per quiet period, with the last event.
    public var debounce: Debounce?
    /// Runs receive several events at once.
    public var batchEvents: BatchEvents?
    /// An expression over `event` giving the run a head start (positive) or a delay (negative)
    /// in seconds, −600…600, within its function's queue.
    public var priority: String?
    /// At most one active run per key.
    public var singleton: Singleton?

    public init(
        concurrency: [ConcurrencyLimit] = [], throttle: Throttle? = nil, rateLimit: RateLimit? = nil,
        debounce: Debounce? = nil, batchEvents: BatchEvents? = nil, priority: String? = nil,
        singleton: Singleton? = nil
    ) {
        self.concurrency = concurrency
        self.throttle = throttle
        self.rateLimit = rateLimit
        self.debounce = debounce
        self.batchEvents = batchEvents
        self.priority = priority.flatMap { $0.isEmpty ? nil : $0 }
        self.singleton = singleton
    }

    public static let none = FlowControl()

    /// True when nothing is configured.
    public var isEmpty: Bool { self == .none }

    /// Most concurrency limits per function.
    public static let maxConcurrencyLimits = 2
    /// Largest concurrency limit, throttle or rate limit.
    public static let maxLimit = 1_000_000
    /// Priority bounds, in seconds.
    public static let priorityRangeSeconds: ClosedRange<Int64> = -600...600
}

/// At most `limit` steps of the function running at once, per value of `key` when given.
public struct ConcurrencyLimit: Sendable, Equatable, Hashable {
    public var limit: Int
    /// Expression over `event`; nil applies the limit to the whole function.
    public var key: String?

    public init(limit: Int, key: String? = nil) {
        self.limit = limit
        self.key = key.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Run starts spread evenly (per key): one every period/limit, with `burst + 1` at once after a
/// quiet spell (GCRA), so at most `limit + burst` in any window of one period, and at most `limit`
/// with `burst` 0. Excess runs wait in the queue.
public struct Throttle: Sendable, Equatable, Hashable {
    public var limit: Int
    public var periodMilliseconds: Int64
    /// Runs that may start ahead of the even spacing: `burst + 1` at once after a quiet spell,
    /// and at most `limit + burst` in one period.
    public var burst: Int
    public var key: String?

    public init(limit: Int, periodMilliseconds: Int64, burst: Int = 0, key: String? = nil) {
        self.limit = limit
        self.periodMilliseconds = periodMilliseconds
        self.burst = burst
        self.key = key.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// `limit` runs per `period` (per key) on average: `limit` at once after a quiet spell, then one
/// every period/limit (GCRA), so up to `2 × limit − 1` within one period. An event over the limit
/// starts no run of this function.
public struct RateLimit: Sendable, Equatable, Hashable {
    public var limit: Int
    public var periodMilliseconds: Int64
    public var key: String?

    public init(limit: Int, periodMilliseconds: Int64, key: String? = nil) {
        self.limit = limit
        self.periodMilliseconds = periodMilliseconds
        self.key = key.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Starts one run once events (per key) have been quiet for `period`, with the last event; with a
/// `timeout`, no later than that long after the first event of the burst.
public struct Debounce: Sendable, Equatable, Hashable {
    public var periodMilliseconds: Int64
    public var key: String?
    /// 0: no maximum wait.
    public var timeoutMilliseconds: Int64

    public init(periodMilliseconds: Int64, key: String? = nil, timeoutMilliseconds: Int64 = 0) {
        self.periodMilliseconds = periodMilliseconds
        self.key = key.flatMap { $0.isEmpty ? nil : $0 }
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// Collects events (per key) and starts one run with all of them, when `maxSize` are collected or
/// `timeout` after the first one, whichever comes first.
public struct BatchEvents: Sendable, Equatable, Hashable {
    public var maxSize: Int
    public var timeoutMilliseconds: Int64
    public var key: String?

    public init(maxSize: Int, timeoutMilliseconds: Int64, key: String? = nil) {
        self.maxSize = maxSize
        self.timeoutMilliseconds = timeoutMilliseconds
        self.key = key.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Largest batch size.
    public static let maxSizeLimit = 1_000
}

/// At most one active run of the function per key.
public struct Singleton: Sendable, Equatable, Hashable {
    public enum Mode: String, Sendable, CaseIterable, Codable {
        /// A new event starts nothing while a run is active.
        case skip
        /// The active run is cancelled and the new one starts.
        case cancel
    }

    public var key: String?
    public var mode: Mode

    public init(key: String? = nil, mode: Mode) {
        self.key = key.flatMap { $0.isEmpty ? nil : $0 }
        self.mode = mode
    }
}
