import Testing

@testable import TetherEngine

@Suite("Flow control: throttle, rate limit and priority")
struct RateTests {
    typealias H = CoreHarness

    @Test("GCRA: capacity at once, then one per period/limit; a quiet spell restores the burst")
    func gcra() {
        let gcra = GCRA(limit: 2, periodMilliseconds: 1_000, capacity: 3)
        var tat: Int64?
        var starts: [Int64] = []
        for _ in 0..<6 {
            let slot = gcra.reserve(tat: tat, now: 0)
            starts.append(slot.start)
            tat = slot.tat
        }
        #expect(starts == [0, 0, 0, 500, 1_000, 1_500])
        #expect(gcra.reserve(tat: tat, now: 10_000).start == 10_000)
        // A rate limit admits or refuses; the interval rounds up so the rate never exceeds the limit.
        let limit = GCRA(limit: 3, periodMilliseconds: 1_000, capacity: 3)
        #expect(limit.intervalMilliseconds == 334)
        var state: Int64?
        let admitted = (0..<4).map { _ in
            let next = limit.admit(tat: state, now: 0)
            if let next { state = next }
            return next != nil
        }
        #expect(admitted == [true, true, true, false])
        // Refused at 0, the fourth is admitted once the TAT is within the tolerance of now.
        #expect(limit.nextAdmission(tat: state, now: 0) == 334)
        #expect(limit.admit(tat: state, now: 333) == nil)
        #expect(limit.admit(tat: state, now: 334) != nil)
    }

    @Test("throttle: excess runs are queued with their start time, never dropped, and start on time")
    func throttleQueues() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(throttle: Throttle(limit: 2, periodMilliseconds: 1_000, burst: 1)))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let t0 = h.now
        let sent = h.sendAll((0..<6).map { H.tenantEvent("a", $0) })
        #expect(sent.receipts.allSatisfy { $0.runIds.count == 1 })
        // burst + 1 at once, then one every period / limit: never more than limit + burst in a period.
        #expect(H.dispatches(sent.effects).map(H.number(of:)) == [0, 1], "burst + 1 start at once")
        let later = sent.receipts[2...].map { H.written(sent.effects, run: $0.runIds[0])?.nextAttemptAtMilliseconds }
        #expect(later == [t0 + 500, t0 + 1_000, t0 + 1_500, t0 + 2_000])
        #expect(sent.effects.writes.contains { if case .putFlowState = $0 { true } else { false } })
        #expect(H.dispatches(h.tick(at: t0 + 499)).isEmpty)
        #expect(H.dispatches(h.tick(at: t0 + 500)).map(H.number(of:)) == [2])
        // Ticked late: runs 3 and 4 (due at 1 s and 1.5 s) start now, as the throttle has room
        // for two; run 5 starts one interval later, when it has room again.
        #expect(H.dispatches(h.tick(at: t0 + 2_000)).map(H.number(of:)) == [3, 4])
        #expect(H.dispatches(h.tick(at: t0 + 2_499)).isEmpty)
        #expect(H.dispatches(h.tick(at: t0 + 2_500)).map(H.number(of:)) == [5])
        #expect(h.core.status(now: h.now).functions[0].queued == 0)
    }

    @Test("throttle keys are independent; the state is forgotten once idle")
    func throttleKeys() throws {
        var h = CoreHarness()
        let function = H.flowFunction(
            FlowControl(throttle: Throttle(limit: 1, periodMilliseconds: 1_000, key: "event.data.tenant")))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let sent = h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("a", 1), H.tenantEvent("b", 2)])
        #expect(H.dispatches(sent.effects).map(H.number(of:)) == [0, 2])
        let idle = h.tick(at: h.now + 5_000)
        let deleted = idle.writes.compactMap { if case .deleteFlowState(let key) = $0 { key } else { nil } }
        // Per key, the reserved start times and the starts made.
        #expect(deleted.map { $0.prefix(1) }.sorted() == ["s", "s", "t", "t"], "\(deleted)")
    }

    @Test("rate limit: events over the limit start no run and say so; other keys are unaffected")
    func rateLimit() throws {
        var h = CoreHarness()
        let function = H.flowFunction(
            FlowControl(rateLimit: RateLimit(limit: 2, periodMilliseconds: 1_000, key: "event.data.tenant")))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let sent = h.sendAll([H.tenantEvent("a"), H.tenantEvent("a"), H.tenantEvent("a"), H.tenantEvent("b")])
        #expect(sent.receipts.map(\.runIds.count) == [1, 1, 0, 1])
        #expect(sent.receipts[2].flow == [FlowOutcome(functionId: "shop:sync", kind: .rateLimited)])
        #expect(sent.receipts[2].flow[0].isSkipped)
        // One more every period/limit.
        h.now += 499
        #expect(h.sendAll([H.tenantEvent("a")]).receipts[0].runIds.isEmpty)
        h.now += 1
        #expect(h.sendAll([H.tenantEvent("a")]).receipts[0].runIds.count == 1)
    }

    @Test("priority: a head start in seconds orders the queue; equal priorities keep arrival order")
    func priorityOrders() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(priority: "event.data.priority"))
        _ = try h.connect("c1", capacity: 1, functions: [function])
        var running = H.dispatches(h.sendAll([H.tenantEvent("a", 0)]).effects)
        let t0 = h.now
        _ = h.sendAll([H.tenantEvent("a", 1, priority: 0), H.tenantEvent("a", 2, priority: -60)])
        h.now = t0 + 10_000
        _ = h.sendAll([H.tenantEvent("a", 3, priority: 30), H.tenantEvent("a", 4), H.tenantEvent("a", 5, priority: 9_999)])
        h.now = t0 + 20_000
        var order: [Int] = []
        while let done = running.first {
            running.removeFirst()
            order.append(H.number(of: done))
            running += H.dispatches(h.finish(done))
        }
        // 5: +600 s (clamped); 3: +30 s; 1 at t0; 4 at t0 + 10 s; 2: −60 s.
        #expect(order == [0, 5, 3, 1, 4, 2])
    }
}
