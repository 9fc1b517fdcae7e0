import Testing

@testable import TetherEngine

/// The throttle's promise to a user who throttles to respect a partner's limit: in any window of
/// `period` (from a time t up to, not including, t + period), at most `limit + burst` runs start,
/// and with burst 0 at most `limit`.
@Suite("Flow control: throttle windows")
struct ThrottleWindowTests {
    typealias H = CoreHarness

    /// Sends `count` events at once and ticks every millisecond until every run has started (or
    /// `until` passes); returns each run's first dispatch time, relative to the send. The worker
    /// has room for all of them, finishes each run at once and heartbeats every second.
    static func starts(_ throttle: Throttle, count: Int, until: Int64 = 60_000) throws -> [Int64] {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 10_000, functions: [H.flowFunction(FlowControl(throttle: throttle))])
        let t0 = h.now
        var started: [String: Int64] = [:]
        func record(_ effects: Effects) {
            var pending = H.dispatches(effects)
            while let dispatch = pending.popLast() {
                if started[dispatch.run.id] == nil { started[dispatch.run.id] = h.now - t0 }
                pending += H.dispatches(h.finish(dispatch))
            }
        }
        let sent = h.sendAll((0..<count).map { H.tenantEvent("a", $0) })
        #expect(sent.receipts.allSatisfy { $0.runIds.count == 1 })
        record(sent.effects)
        while started.count < count, h.now < t0 + until {
            record(h.tick(at: h.now + 1))
            if (h.now - t0) % 1_000 == 0 { record(h.core.heartbeat(connectionId: "c1", inFlight: [], now: h.now)) }
        }
        return started.values.sorted()
    }

    /// The most starts in any window `[t, t + period)`.
    static func busiestWindow(_ starts: [Int64], period: Int64) -> Int {
        var most = 0
        var first = 0
        for last in starts.indices {
            while starts[last] - starts[first] >= period { first += 1 }
            most = max(most, last - first + 1)
        }
        return most
    }

    @Test(
        "100 events at once: no window of one period holds more than limit + burst starts, and none waits longer than needed",
        arguments: [(10, 1_000, 0), (10, 1_000, 2), (3, 1_000, 0), (7, 1_000, 5), (1, 250, 0)] as [(Int, Int64, Int)])
    func slidingWindow(limit: Int, period: Int64, burst: Int) throws {
        let starts = try Self.starts(Throttle(limit: limit, periodMilliseconds: period, burst: burst), count: 100)
        #expect(starts.count == 100, "every run starts")
        let busiest = Self.busiestWindow(starts, period: period)
        #expect(busiest <= limit + burst, "\(busiest) starts in one window of \(period) ms: \(starts.prefix(30))")
        // The throttle is not stricter than it says: a quiet start lets burst + 1 go at once, and
        // the rest go one every period / limit (rounded up to whole milliseconds).
        let interval = (period + Int64(limit) - 1) / Int64(limit)
        #expect(starts.prefix(burst + 1).allSatisfy { $0 == 0 })
        #expect(starts.last == Int64(100 - 1 - burst) * interval, "\(starts.suffix(5))")
    }

    @Test("with burst 0 the first period starts exactly limit runs, spread evenly")
    func noBurst() throws {
        let starts = try Self.starts(Throttle(limit: 10, periodMilliseconds: 1_000), count: 100)
        #expect(starts.filter { $0 < 1_000 } == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900])
    }

    @Test("after a quiet spell the burst is available again, and the window still holds")
    func quietSpellRestoresBurst() throws {
        var h = CoreHarness()
        let throttle = Throttle(limit: 4, periodMilliseconds: 1_000, burst: 2)
        _ = try h.connect("c1", capacity: 10_000, functions: [H.flowFunction(FlowControl(throttle: throttle))])
        let first = h.sendAll((0..<3).map { H.tenantEvent("a", $0) })
        #expect(H.dispatches(first.effects).count == 3, "burst + 1 at once")
        _ = h.tick(at: h.now + 10_000)
        let again = h.sendAll((3..<10).map { H.tenantEvent("a", $0) })
        #expect(H.dispatches(again.effects).count == 3, "burst + 1 at once after a quiet spell")
    }

    @Test(
        "runs whose start times passed while no worker was connected catch up one interval apart, never over the limit",
        arguments: [(10, 1_000, 0), (10, 1_000, 3)] as [(Int, Int64, Int)])
    func lateWorker(limit: Int, period: Int64, burst: Int) throws {
        var h = CoreHarness()
        let throttle = Throttle(limit: limit, periodMilliseconds: period, burst: burst)
        let function = H.flowFunction(FlowControl(throttle: throttle))
        // Registered, then gone: the function is known, but nothing can start.
        _ = try h.connect("c0", capacity: 1, functions: [function])
        _ = h.core.disconnect(connectionId: "c0", now: h.now)
        let t0 = h.now
        _ = h.sendAll((0..<100).map { H.tenantEvent("a", $0) })
        for time in stride(from: t0 + 250, through: t0 + 5_000, by: 250) { _ = h.tick(at: time) }
        // 51 runs' start times passed during the 5 s without a worker; the starts made are
        // counted again, so they do not all go at once.
        var starts: [Int64] = []
        func record(_ effects: Effects) {
            var pending = H.dispatches(effects)
            while let dispatch = pending.popLast() {
                if dispatch.attempt == 1 && dispatch.run.steps.isEmpty { starts.append(h.now - t0) }
                pending += H.dispatches(h.finish(dispatch))
            }
        }
        record(try h.connect("c1", capacity: 1_000, functions: [function]))
        #expect(starts.count == burst + 1, "burst + 1 at once: \(starts)")
        while starts.count < 100, h.now < t0 + 60_000 {
            record(h.tick(at: h.now + 1))
            if (h.now - t0) % 1_000 == 0 { record(h.core.heartbeat(connectionId: "c1", inFlight: [], now: h.now)) }
        }
        #expect(starts.count == 100, "every run starts")
        let busiest = Self.busiestWindow(starts, period: period)
        #expect(busiest <= limit + burst, "\(busiest) starts in one window of \(period) ms: \(starts.prefix(30))")
        // No later than the throttle allows: the first after the worker came back at 5 s, the
        // rest one interval apart.
        let interval = (period + Int64(limit) - 1) / Int64(limit)
        #expect(starts.last == 5_000 + Int64(100 - 1 - burst) * interval, "\(starts.suffix(5))")
    }
}
