/// The generic cell rate algorithm: a rate limit whose whole state is one time, the theoretical
/// arrival time (TAT) of the next unit. One unit is admitted every `interval`; up to `capacity`
/// at once after a quiet spell.
struct GCRA: Sendable, Equatable {
    /// Time between units at the steady rate: the period divided by the limit, rounded up so
    /// the rate never exceeds the limit.
    var intervalMilliseconds: Int64
    /// How far ahead of `now` the TAT may run: `(capacity − 1) × interval`.
    var toleranceMilliseconds: Int64

    init(limit: Int, periodMilliseconds: Int64, capacity: Int) {
        let limit = Int64(max(1, limit))
        intervalMilliseconds = max(1, (periodMilliseconds + limit - 1) / limit)
        toleranceMilliseconds = Int64(max(0, capacity - 1)) * intervalMilliseconds
    }

    /// A throttle's algorithm: `burst + 1` at once after a quiet spell (see `Throttle`).
    init(_ throttle: Throttle) {
        self.init(limit: throttle.limit, periodMilliseconds: throttle.periodMilliseconds, capacity: throttle.burst + 1)
    }

    /// Admits a unit now or never (a rate limit): the new TAT, or nil when over the limit.
    func admit(tat: Int64?, now: Int64) -> Int64? {
        let current = max(tat ?? now, now)
        guard current - now <= toleranceMilliseconds else { return nil }
        return current + intervalMilliseconds
    }

    /// The earliest time at or after `now` when ``admit(tat:now:)`` admits a unit.
    func nextAdmission(tat: Int64?, now: Int64) -> Int64 {
        max(now, max(tat ?? now, now) - toleranceMilliseconds)
    }

    /// Reserves the next slot (a throttle): when the unit may start (now or later) and the new TAT.
    func reserve(tat: Int64?, now: Int64) -> (start: Int64, tat: Int64) {
        let current = max(tat ?? now, now)
        return (max(now, current - toleranceMilliseconds), current + intervalMilliseconds)
    }
}
