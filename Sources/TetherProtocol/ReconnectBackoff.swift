/// How long a worker waits before reconnecting: exponential backoff with full jitter.
///
/// The n-th delay (counting from 0) is uniform in `[0, min(cap, base × 2ⁿ)]`, so a crowd of
/// workers that lost the coordinator at the same moment comes back spread out rather than in
/// waves. Call ``reset()`` once a connection is established (after `Welcome`).
public struct ReconnectBackoff: Sendable, Equatable {
    /// The upper bound of the first delay, in milliseconds.
    public let baseMilliseconds: Int
    /// The largest upper bound any delay is drawn from, in milliseconds.
    public let capMilliseconds: Int
    /// How many delays have been drawn since the last ``reset()``.
    public private(set) var attempt: Int = 0

    /// Creates a backoff; the defaults are docs/protocol.md's (base 100 ms, cap 30 s).
    public init(baseMilliseconds: Int = 100, capMilliseconds: Int = 30_000) {
        precondition(baseMilliseconds >= 0 && capMilliseconds >= 0, "backoff bounds must not be negative")
        self.baseMilliseconds = baseMilliseconds
        self.capMilliseconds = capMilliseconds
    }

    /// The upper bound of the delay drawn at the current ``attempt``: `min(cap, base × 2^attempt)`.
    public var currentBoundMilliseconds: Int {
        // Shifting by 62 or more would overflow; the cap has long been reached by then.
        guard self.attempt < 62 else { return self.capMilliseconds }
        let (scaled, overflow) = self.baseMilliseconds.multipliedReportingOverflow(by: 1 << self.attempt)
        return overflow ? self.capMilliseconds : min(self.capMilliseconds, scaled)
    }

    /// The delay before the next attempt, uniform in `[0, min(cap, base × 2^attempt)]`; counts the attempt.
    public mutating func nextDelay<R: RandomNumberGenerator>(using generator: inout R) -> Int {
        let delay = Int.random(in: 0...self.currentBoundMilliseconds, using: &generator)
        self.attempt += 1
        return delay
    }

    /// The delay before the next attempt when the peer said to wait at least `minimumMilliseconds`
    /// (a `Reject` with `overloaded` or `draining`, or a `Reconnect`); counts the attempt.
    ///
    /// Takes the larger of the backoff delay and the minimum, then adds a random 0–20 % of it, so
    /// that many workers told the same retry-after do not all return at the same instant.
    public mutating func nextDelay<R: RandomNumberGenerator>(
        atLeast minimumMilliseconds: Int,
        using generator: inout R
    ) -> Int {
        let base = max(self.nextDelay(using: &generator), minimumMilliseconds)
        let spread = Int.random(in: 0...(base / 5), using: &generator)
        let (delay, overflow) = base.addingReportingOverflow(spread)
        return overflow ? Int.max : delay
    }

    /// Starts over from the first attempt; call it after a successful handshake.
    public mutating func reset() {
        self.attempt = 0
    }
}
