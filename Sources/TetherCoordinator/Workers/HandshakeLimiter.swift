import DequeModule
import Synchronization

/// Bounds worker handshakes so that a reconnect storm (thousands of workers dialling back
/// after a coordinator restart) cannot take the coordinator down. A connection comes here once
/// it has sent its whole ClientHello (the ``HandshakeGate`` holds it until then, so idle sockets
/// never take a slot), and meets four tiers, in order:
///
/// 1. **Slots.** At most `limit` connections are between ClientHello and registration (TLS, the
///    challenge, `Hello`, registration) at once.
/// 2. **Queue.** Up to `maxQueued` more wait in FIFO order *before* TLS: nothing more is read
///    from them and no CPU is spent. Each waits at most `queueTimeout`; one that waits longer is
///    closed (the worker retries with backoff). A freed slot goes to the oldest waiter.
/// 3. **Overloaded.** Past the queue, up to `rejectLimit` connections get a TLS handshake only to
///    be answered `Reject overloaded` with a random retry-after, so well-behaved workers spread
///    their retries.
/// 4. **Refused.** Past that, connections are closed at once, before TLS.
///
/// Thread-safe: connections on every event loop share one limiter.
final class HandshakeLimiter: Sendable {
    /// What a new connection gets.
    enum Admission: Equatable, Sendable {
        /// A slot: go ahead with TLS.
        case granted
        /// Queued: `grant` runs (on any thread) when a slot frees, unless the ticket is cancelled first.
        case queued
        /// TLS only to answer `overloaded`; the ticket holds a reject slot.
        case overloaded
        /// Close now, before TLS.
        case refused
    }

    /// Counters for the status endpoint, metrics and tests.
    struct Statistics: Equatable, Sendable {
        var inProgress = 0
        var peakInProgress = 0
        var queued = 0
        var peakQueued = 0
        /// Connections that waited in the queue (granted later or timed out).
        var queuedTotal = 0
        var queueTimeouts = 0
        /// Connections answered `overloaded`.
        var overloaded = 0
        /// Connections closed before TLS because every tier was full.
        var refused = 0
    }

    let limit: Int
    let maxQueued: Int
    let rejectLimit: Int
    /// Connections accepted that have not sent their whole ClientHello yet: they come here
    /// only once they have (the tier before the four above).
    let preHandshake: PreHandshakeConnections

    private struct Waiter {
        let ticket: HandshakeTicket
        let grant: @Sendable () -> Void
    }

    private struct State {
        var statistics = Statistics()
        var rejecting = 0
        var queue: Deque<Waiter> = []

        /// Takes a waiting ticket out of the queue (it gave up or closed).
        mutating func removeWaiter(_ ticket: HandshakeTicket) {
            if let index = queue.firstIndex(where: { $0.ticket === ticket }) {
                queue.remove(at: index)
            }
            statistics.queued = queue.count
        }
    }

    private let state = Mutex(State())

    init(limit: Int, maxQueued: Int = 8_192, maxPreHandshake: Int = 8_192) {
        self.limit = max(1, limit)
        self.maxQueued = max(0, maxQueued)
        self.rejectLimit = max(1, self.limit / 8)
        self.preHandshake = PreHandshakeConnections(limit: maxPreHandshake)
    }

    /// Admits a new connection. With `.queued`, `grant` runs once a slot is handed to `ticket`.
    func admit(_ ticket: HandshakeTicket, grant: @escaping @Sendable () -> Void) -> Admission {
        state.withLock { state in
            if state.statistics.inProgress < limit && state.queue.isEmpty {
                state.statistics.inProgress += 1
                state.statistics.peakInProgress = max(state.statistics.peakInProgress, state.statistics.inProgress)
                ticket.hold = .slot
                return .granted
            }
            if state.queue.count < maxQueued {
                state.queue.append(Waiter(ticket: ticket, grant: grant))
                state.statistics.queued = state.queue.count
                state.statistics.peakQueued = max(state.statistics.peakQueued, state.queue.count)
                state.statistics.queuedTotal += 1
                ticket.hold = .queued
                return .queued
            }
            if state.rejecting < rejectLimit {
                state.rejecting += 1
                state.statistics.overloaded += 1
                ticket.hold = .rejectSlot
                return .overloaded
            }
            state.statistics.refused += 1
            return .refused
        }
    }

    /// Gives up whatever `ticket` holds: a slot (handed to the oldest waiter), a reject slot,
    /// or its place in the queue. Returns what it held. Safe to call more than once.
    @discardableResult
    func release(_ ticket: HandshakeTicket) -> HandshakeTicket.Hold {
        let (held, granted) = state.withLock { state -> (HandshakeTicket.Hold, Waiter?) in
            let held = ticket.hold
            ticket.hold = .nothing
            switch held {
            case .nothing:
                return (held, nil)
            case .rejectSlot:
                state.rejecting -= 1
                return (held, nil)
            case .queued:
                state.removeWaiter(ticket)
                return (held, nil)
            case .slot:
                guard let next = state.queue.popFirst() else {
                    state.statistics.inProgress -= 1
                    return (held, nil)
                }
                // The slot passes straight to the oldest waiter.
                next.ticket.hold = .slot
                state.statistics.queued = state.queue.count
                return (held, next)
            }
        }
        granted?.grant()
        return held
    }

    /// Takes `ticket` out of the queue if it is still waiting; false when it was granted meanwhile.
    func cancelWait(_ ticket: HandshakeTicket) -> Bool {
        state.withLock { state in
            guard ticket.hold == .queued else { return false }
            ticket.hold = .nothing
            state.removeWaiter(ticket)
            state.statistics.queueTimeouts += 1
            return true
        }
    }

    /// What `ticket` holds now.
    func hold(of ticket: HandshakeTicket) -> HandshakeTicket.Hold {
        state.withLock { _ in ticket.hold }
    }

    var statistics: Statistics { state.withLock { $0.statistics } }
}

/// What one connection holds in the ``HandshakeLimiter``. Only the limiter changes `hold`,
/// under its lock.
final class HandshakeTicket: @unchecked Sendable {
    enum Hold: Equatable, Sendable {
        case nothing, queued, slot, rejectSlot
    }

    fileprivate(set) var hold: Hold = .nothing

    init() {}
}
