import Testing

@testable import TetherEngine

@Suite("Flow control: concurrency limits and fair lanes")
struct ConcurrencyTests {
    typealias H = CoreHarness

    @Test("a keyed limit counts running steps per key; work over it waits without consuming an attempt")
    func keyedLimit() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(concurrency: [ConcurrencyLimit(limit: 2, key: "event.data.tenant")]))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let sent = h.sendAll((0..<5).map { H.tenantEvent("a", $0) } + [H.tenantEvent("b")])
        let first = H.dispatches(sent.effects)
        #expect(first.map(H.tenant(of:)).sorted() == ["a", "a", "b"])

        // A step of `a` ends: the next `a` goes out, on its first attempt.
        let firstA = try #require(first.first { H.tenant(of: $0) == "a" })
        let next = H.dispatches(h.finish(firstA))
        #expect(next.map(H.tenant(of:)) == ["a"])
        #expect(next[0].attempt == 1)
        #expect(h.core.status(now: h.now).functions[0].keys.first { $0.key == "\"a\"" }?.queued == 2)
    }

    @Test("two limits at once: function-wide 3 and 2 per key")
    func twoLimits() throws {
        var h = CoreHarness()
        let function = H.flowFunction(
            FlowControl(concurrency: [ConcurrencyLimit(limit: 3), ConcurrencyLimit(limit: 2, key: "event.data.tenant")]))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let sent = h.sendAll((0..<4).map { H.tenantEvent("a", $0) } + (0..<4).map { H.tenantEvent("b", $0) })
        var running = H.dispatches(sent.effects)
        #expect(running.count == 3)
        #expect(Dictionary(grouping: running, by: H.tenant(of:)).values.allSatisfy { $0.count <= 2 })

        // Drain everything, checking both limits after every step.
        var finished = 0
        while let done = running.first {
            running.removeFirst()
            running += H.dispatches(h.finish(done))
            finished += 1
            #expect(running.count <= 3)
            #expect(Dictionary(grouping: running, by: H.tenant(of:)).values.allSatisfy { $0.count <= 2 })
        }
        #expect(finished == 8)
    }

    @Test("sleeping and waiting runs hold no concurrency slot")
    func sleepingRunsDoNotCount() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(concurrency: [ConcurrencyLimit(limit: 1)]))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let sent = h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("a", 1)])
        let first = try #require(H.dispatches(sent.effects).first)
        #expect(H.dispatches(sent.effects).count == 1)
        let sleeping = h.plan(first, [PlannedStep(stepId: "nap", operation: .sleep(durationMilliseconds: 60_000, untilMilliseconds: 0))])
        #expect(H.dispatches(sleeping).map(H.number(of:)) == [1], "the second run starts while the first sleeps")
    }

    @Test("fairness: a key with 1,000 queued never delays a key with 3")
    func fairLanes() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(concurrency: [ConcurrencyLimit(limit: 5, key: "event.data.tenant")]))
        _ = try h.connect("c1", capacity: 2, functions: [function])
        var running = H.dispatches(h.sendAll((0..<1_000).map { H.tenantEvent("a", $0) }).effects)
        running += H.dispatches(h.sendAll((0..<3).map { H.tenantEvent("b", $0) }).effects)
        var order: [String] = []
        while let done = running.first, order.filter({ $0 == "b" }).count < 3 {
            running.removeFirst()
            order.append(H.tenant(of: done))
            running += H.dispatches(h.finish(done))
        }
        // b's three runs finish among the first eight: the lanes alternate.
        #expect(order.count <= 8, "order: \(order)")
        let status = h.core.status(now: h.now).functions[0]
        #expect(status.keyCount == 1)
        #expect(status.keys.first?.key == "\"a\"")
    }

    @Test("a lane parked on its full key does not block other keys, and wakes when a step of its key ends")
    func parkedLaneWakes() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(concurrency: [ConcurrencyLimit(limit: 1, key: "event.data.tenant")]))
        _ = try h.connect("c1", capacity: 1, functions: [function])
        let first = H.dispatches(h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("a", 1)]).effects)
        #expect(first.count == 1)
        // A worker with room connects: `a` is at its limit, so nothing more goes out.
        #expect(H.dispatches(try h.connect("c2", capacity: 5, functions: [function])).isEmpty)
        #expect(H.dispatches(h.sendAll([H.tenantEvent("b", 0)]).effects).map(H.tenant(of:)) == ["b"])
        let next = H.dispatches(h.finish(first[0]))
        #expect(next.map(H.number(of:)) == [1])
    }

    @Test("a worker lost mid-step frees the key's slot; the step goes out again on the same attempt")
    func lostWorkerFreesTheSlot() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(concurrency: [ConcurrencyLimit(limit: 1, key: "event.data.tenant")]))
        _ = try h.connect("c1", capacity: 1, functions: [function])
        _ = try h.connect("c2", capacity: 1, functions: [function])
        let first = H.dispatches(h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("a", 1)]).effects)
        #expect(first.count == 1)
        // The connection broke: the step waits for its worker to resume it until its lease
        // runs out; the key's slot stays taken meanwhile.
        #expect(H.dispatches(h.core.disconnect(connectionId: first[0].connectionId, now: h.now)).isEmpty)
        let again = H.dispatches(h.tick(at: first[0].leaseDeadlineMilliseconds))
        #expect(again.map(H.number(of:)) == [0])
        #expect(again[0].attempt == 1)
    }
}
