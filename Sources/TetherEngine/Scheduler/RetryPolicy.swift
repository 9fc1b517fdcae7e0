/// When the next attempt of a failed step may start: exponential backoff with jitter.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay before the first retry, before jitter.
    public var baseDelayMilliseconds: Int64
    /// Longest delay between two attempts.
    public var maxDelayMilliseconds: Int64

    public init(baseDelayMilliseconds: Int64 = 1_000, maxDelayMilliseconds: Int64 = 3_600_000) {
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
    }

    /// Delay after the `failedAttempts`-th failure: base × 2^(n−1), capped, then a random
    /// 50–100% of it so retries of many runs failing together spread out.
    public func delay(afterFailedAttempts failedAttempts: Int, using random: inout some RandomNumberGenerator) -> Int64 {
        let exponent = min(max(failedAttempts - 1, 0), 30)
        let raw = min(baseDelayMilliseconds.multipliedReportingOverflow(by: 1 << exponent).partialValue, maxDelayMilliseconds)
        let full = max(raw, 0)
        guard full > 1 else { return full }
        return full / 2 + Int64.random(in: 0...(full - full / 2), using: &random)
    }
}
