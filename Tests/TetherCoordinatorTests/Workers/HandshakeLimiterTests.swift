import Synchronization
import Testing

@testable import TetherCoordinator

/// The limiter's four tiers, without sockets: slots, the FIFO queue, `overloaded`, refusal.
@Suite("Handshake limiter")
struct HandshakeLimiterTests {
    /// Records which queued tickets were granted, in order.
    final class Grants: Sendable {
        let order = Mutex<[Int]>([])
        func grant(_ index: Int) -> @Sendable () -> Void { { self.order.withLock { $0.append(index) } } }
        var value: [Int] { order.withLock { $0 } }
    }

    @Test("slots, then a FIFO queue, then overloaded (limit / 8 at once), then refused")
    func tiers() {
        let limiter = HandshakeLimiter(limit: 16, maxQueued: 3)
        let grants = Grants()
        let tickets = (0..<24).map { _ in HandshakeTicket() }
        let admissions = tickets.enumerated().map { index, ticket in limiter.admit(ticket, grant: grants.grant(index)) }
        #expect(admissions[0..<16].allSatisfy { $0 == .granted })
        #expect(admissions[16..<19].allSatisfy { $0 == .queued })
        #expect(admissions[19..<21].allSatisfy { $0 == .overloaded })  // 16 / 8 = 2 reject slots
        #expect(admissions[21..<24].allSatisfy { $0 == .refused })
        var statistics = limiter.statistics
        #expect(statistics.inProgress == 16)
        #expect(statistics.queued == 3)
        #expect(statistics.overloaded == 2)
        #expect(statistics.refused == 3)

        // A released reject slot lets the next excess connection be answered overloaded again.
        #expect(limiter.release(tickets[19]) == .rejectSlot)
        #expect(limiter.admit(HandshakeTicket(), grant: {}) == .overloaded)

        // Freed slots go to the waiters in arrival order; the count in progress never passes 16.
        #expect(limiter.release(tickets[0]) == .slot)
        #expect(limiter.release(tickets[1]) == .slot)
        #expect(grants.value == [16, 17])
        #expect(limiter.hold(of: tickets[16]) == .slot)
        statistics = limiter.statistics
        #expect(statistics.inProgress == 16)
        #expect(statistics.queued == 1)
        #expect(statistics.peakInProgress == 16)
        #expect(statistics.peakQueued == 3)

        // Releasing twice frees nothing more.
        #expect(limiter.release(tickets[0]) == .nothing)
        #expect(limiter.statistics.inProgress == 16)
    }

    @Test("a queued connection that gives up leaves the queue; one granted meanwhile keeps its slot")
    func cancelledWaits() {
        let limiter = HandshakeLimiter(limit: 1, maxQueued: 4)
        let grants = Grants()
        let first = HandshakeTicket()
        let waiting = (0..<3).map { _ in HandshakeTicket() }
        #expect(limiter.admit(first, grant: {}) == .granted)
        for (index, ticket) in waiting.enumerated() {
            #expect(limiter.admit(ticket, grant: grants.grant(index)) == .queued)
        }
        // The second waiter times out; the first is granted; the second's cancel after that is a no-op.
        #expect(limiter.cancelWait(waiting[1]))
        #expect(limiter.release(first) == .slot)
        #expect(grants.value == [0])
        #expect(!limiter.cancelWait(waiting[0]))  // granted: its timeout must not take the slot away
        #expect(limiter.hold(of: waiting[0]) == .slot)
        // A waiter that closes while queued leaves the queue without a grant.
        #expect(limiter.release(waiting[2]) == .queued)
        #expect(limiter.release(waiting[0]) == .slot)
        #expect(grants.value == [0])
        let statistics = limiter.statistics
        #expect(statistics.inProgress == 0)
        #expect(statistics.queued == 0)
        #expect(statistics.queueTimeouts == 1)
        #expect(statistics.queuedTotal == 3)
    }

    @Test("a freed slot passes straight to the oldest waiter, never to a newcomer")
    func noOvertaking() {
        let limiter = HandshakeLimiter(limit: 2, maxQueued: 10)
        let grants = Grants()
        let a = HandshakeTicket(), b = HandshakeTicket(), c = HandshakeTicket()
        #expect(limiter.admit(a, grant: {}) == .granted)
        #expect(limiter.admit(b, grant: {}) == .granted)
        #expect(limiter.admit(c, grant: grants.grant(2)) == .queued)
        #expect(limiter.release(a) == .slot)
        #expect(grants.value == [2])
        #expect(limiter.admit(HandshakeTicket(), grant: {}) == .queued)
        #expect(limiter.statistics.inProgress == 2)
    }

    @Test("with no queue, excess goes straight to overloaded")
    func noQueue() {
        let limiter = HandshakeLimiter(limit: 1, maxQueued: 0)
        #expect(limiter.admit(HandshakeTicket(), grant: {}) == .granted)
        #expect(limiter.admit(HandshakeTicket(), grant: {}) == .overloaded)
        #expect(limiter.admit(HandshakeTicket(), grant: {}) == .refused)
    }
}
