import Atomics

/// Bounds the number of worker handshakes in progress, so a reconnect storm cannot take
/// the coordinator down: connections over the bound are answered `overloaded`.
final class HandshakeLimiter: Sendable {
    let limit: Int
    private let inProgress = ManagedAtomic<Int>(0)
    private let peak = ManagedAtomic<Int>(0)

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Takes a slot; false when all are taken.
    func tryAcquire() -> Bool {
        while true {
            let current = inProgress.load(ordering: .relaxed)
            guard current < limit else { return false }
            if inProgress.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged {
                var observed = peak.load(ordering: .relaxed)
                while current + 1 > observed {
                    let (exchanged, original) = peak.compareExchange(
                        expected: observed, desired: current + 1, ordering: .relaxed)
                    if exchanged { break }
                    observed = original
                }
                return true
            }
        }
    }

    func release() {
        inProgress.wrappingDecrement(ordering: .acquiringAndReleasing)
    }

    var current: Int { inProgress.load(ordering: .relaxed) }
    /// Most handshakes seen in progress at once.
    var peakConcurrent: Int { peak.load(ordering: .relaxed) }
}
