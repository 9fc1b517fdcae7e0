import TetherEngine

/// When a worker sends its heartbeats: a pure value, so that tests can drive it with a seeded generator.
///
/// The first heartbeat comes at a random phase in `[0, interval)`, so workers that connect
/// together (after a coordinator restart) do not beat in step; every later one comes after
/// `interval × (1 ± jitter)`, uniformly distributed.
public struct HeartbeatSchedule: Sendable, Equatable {
    /// The mean delay between heartbeats, in milliseconds; at least 1.
    public let intervalMilliseconds: Int
    /// The fraction by which each delay may differ from the interval, in `[0, 1)`.
    public let jitter: Double

    /// Creates a schedule.
    ///
    /// The values may come from the peer's `Welcome`, so they are clamped rather than trusted:
    /// the interval to at least 1 ms, the jitter to `[0, 0.99]` (NaN counts as 0).
    public init(intervalMilliseconds: Int, jitter: Double) {
        self.intervalMilliseconds = max(1, intervalMilliseconds)
        self.jitter = jitter.isNaN ? 0 : min(max(jitter, 0), 0.99)
    }

    /// Creates the schedule of the default ``TetherEngine/ProtocolTiming``.
    public init(timing: ProtocolTiming = .default) {
        self.init(intervalMilliseconds: timing.heartbeatIntervalMilliseconds, jitter: timing.heartbeatJitter)
    }

    /// The delay before the first heartbeat: uniform in `[0, interval)`.
    public func firstDelay<R: RandomNumberGenerator>(using generator: inout R) -> Int {
        Int.random(in: 0..<self.intervalMilliseconds, using: &generator)
    }

    /// The delay before each later heartbeat: uniform in `[interval × (1 − jitter), interval × (1 + jitter)]`.
    public func nextDelay<R: RandomNumberGenerator>(using generator: inout R) -> Int {
        let range = self.nextDelayRange
        return Int.random(in: range, using: &generator)
    }

    /// The range ``nextDelay(using:)`` draws from, in milliseconds.
    public var nextDelayRange: ClosedRange<Int> {
        let interval = Double(self.intervalMilliseconds)
        let lower = max(1, Int((interval * (1 - self.jitter)).rounded(.up)))
        let upper = max(lower, Int((interval * (1 + self.jitter)).rounded(.down)))
        return lower...upper
    }
}
