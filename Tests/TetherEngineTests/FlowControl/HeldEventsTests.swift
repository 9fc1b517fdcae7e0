import Testing

@testable import TetherEngine

@Suite("Flow control: debounce, batches and singletons")
struct HeldEventsTests {
    typealias H = CoreHarness

    static func runs(_ effects: Effects) -> [RunRecord] {
        effects.writes.compactMap { if case .putRun(let run, _, true) = $0 { run } else { nil } }
    }

    @Test("debounce: one run per quiet period, with the last event; keys are separate")
    func debounce() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(debounce: Debounce(periodMilliseconds: 1_000, key: "event.data.tenant")))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let t0 = h.now
        let first = h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("b", 0)])
        #expect(first.receipts.allSatisfy { $0.runIds.isEmpty && $0.flow.map(\.kind) == [.debounced] })
        #expect(h.core.status(now: h.now).functions[0].debouncing == 2)
        h.now = t0 + 900
        _ = h.sendAll([H.tenantEvent("a", 1)])
        let b = h.tick(at: t0 + 1_000)
        #expect(Self.runs(b).map { H.tenant(of: StepDispatch(connectionId: "", requestId: "", run: $0, attempt: 1, leaseDeadlineMilliseconds: 0)) } == ["b"])
        #expect(Self.runs(h.tick(at: t0 + 1_899)).isEmpty)
        let a = Self.runs(h.tick(at: t0 + 1_900))
        #expect(a.count == 1)
        #expect(a.first?.events.map(\.data) == [Array(#"{"tenant":"a","n":1}"#.utf8)], "the last event wins")
        #expect(h.core.status(now: h.now).functions[0].debouncing == 0)
    }

    @Test("debounce timeout: events that keep arriving start a run no later than the timeout")
    func debounceTimeout() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(debounce: Debounce(periodMilliseconds: 1_000, timeoutMilliseconds: 2_500)))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let t0 = h.now
        var started: [(at: Int64, n: Int)] = []
        for step in 0..<12 {  // an event every 500 ms for 6 s
            let at = t0 + Int64(step) * 500
            for run in Self.runs(h.tick(at: at)) {
                started.append((at, H.number(of: StepDispatch(connectionId: "", requestId: "", run: run, attempt: 1, leaseDeadlineMilliseconds: 0))))
            }
            _ = h.sendAll([H.tenantEvent("a", step)])
        }
        // The first burst opens at t0 and must start by t0 + 2,500 with the event sent at t0 + 2,000;
        // the next burst opens at t0 + 2,500.
        #expect(started.map(\.at) == [t0 + 2_500, t0 + 5_000])
        #expect(started.map(\.n) == [4, 9])
    }

    @Test("batches flush by size at once, or by timeout with what they have; the run gets every event")
    func batches() throws {
        var h = CoreHarness()
        let function = H.flowFunction(
            FlowControl(batchEvents: BatchEvents(maxSize: 3, timeoutMilliseconds: 1_000, key: "event.data.tenant")))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let t0 = h.now
        let sent = h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("b", 0), H.tenantEvent("a", 1), H.tenantEvent("a", 2)])
        #expect(sent.receipts.map(\.runIds.count) == [0, 0, 0, 1], "the third event of `a` fills the batch")
        #expect(sent.receipts[0].flow.map(\.kind) == [.batched])
        let full = try #require(H.dispatches(sent.effects).first)
        #expect(full.run.events.count == 3)
        #expect(full.run.events.map(\.data) == (0..<3).map { Array(#"{"tenant":"a","n":\#($0)}"#.utf8) })
        #expect(h.core.status(now: h.now).functions[0].batched == 1)

        #expect(H.dispatches(h.tick(at: t0 + 999)).isEmpty)
        let timedOut = H.dispatches(h.tick(at: t0 + 1_000))
        #expect(timedOut.map { $0.run.events.count } == [1])
        #expect(timedOut.map(H.tenant(of:)) == ["b"])
        // The full batch's timer is stale: nothing more starts.
        #expect(H.dispatches(h.tick(at: t0 + 5_000)).isEmpty)
    }

    @Test("a batch whose data would pass maxBatchBytes starts its run first")
    func batchBytes() throws {
        var configuration = CoordinatorCore.Configuration()
        configuration.limits.maxBatchBytes = 50
        var h = CoreHarness(configuration: configuration)
        let function = H.flowFunction(FlowControl(batchEvents: BatchEvents(maxSize: 100, timeoutMilliseconds: 1_000)))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let sent = h.sendAll((0..<3).map { H.tenantEvent("a", $0) })  // 20 bytes each
        #expect(H.dispatches(sent.effects).map { $0.run.events.count } == [2])
        #expect(H.dispatches(h.tick(at: h.now + 1_000)).map { $0.run.events.count } == [1])
    }

    @Test("singleton skip: no second run while one is active; a new one may start after it ends")
    func singletonSkip() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(singleton: Singleton(key: "event.data.tenant", mode: .skip)))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let sent = h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("a", 1), H.tenantEvent("b", 0)])
        #expect(sent.receipts.map(\.runIds.count) == [1, 0, 1])
        #expect(sent.receipts[1].flow == [FlowOutcome(functionId: "shop:sync", kind: .singleton)])
        let a = try #require(H.dispatches(sent.effects).first { H.tenant(of: $0) == "a" })
        _ = h.finish(a)
        #expect(h.sendAll([H.tenantEvent("a", 2)]).receipts[0].runIds.count == 1)
    }

    @Test("singleton cancel: the active run is cancelled and the new one starts")
    func singletonCancel() throws {
        var h = CoreHarness()
        let function = H.flowFunction(FlowControl(singleton: Singleton(mode: .cancel)))
        _ = try h.connect("c1", capacity: 10, functions: [function])
        let first = h.sendAll([H.tenantEvent("a", 0)])
        let oldRun = first.receipts[0].runIds[0]
        let second = h.sendAll([H.tenantEvent("a", 1)])
        #expect(second.receipts[0].runIds.count == 1)
        let cancelled = try #require(H.written(second.effects, run: oldRun))
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.error?.code == "cancelled")
        #expect(h.core.runs[oldRun] == nil)
        // The old run's step still holds its slot until the worker answers; then it is refused.
        let old = try #require(H.dispatches(first.effects).first)
        let late = h.finish(old)
        #expect(late.messages.contains(.resultAck(connectionId: "c1", requestId: old.requestId, accepted: false)))
    }

    @Test("debounces, batches, throttle states and throttled runs survive a restart")
    func restart() throws {
        var h = CoreHarness()
        let debounced = H.flowFunction(FlowControl(debounce: Debounce(periodMilliseconds: 1_000)), slug: "debounced")
        let batched = H.flowFunction(FlowControl(batchEvents: BatchEvents(maxSize: 10, timeoutMilliseconds: 2_000)), slug: "batched")
        let throttled = H.flowFunction(FlowControl(throttle: Throttle(limit: 1, periodMilliseconds: 3_000)), slug: "throttled")
        let all = [debounced, batched, throttled]
        _ = try h.connect("c1", capacity: 0, functions: all)
        let t0 = h.now
        let sent = h.sendAll([H.tenantEvent("a", 0), H.tenantEvent("a", 1)])

        // What a store would hold: replay the writes.
        var states: [String: Int64] = [:]
        var debounces: [String: DebounceRecord] = [:]
        var batches: [String: BatchRecord] = [:]
        var runs: [String: RunRecord] = [:]
        for write in sent.effects.writes {
            switch write {
            case .putFlowState(let key, let value): states[key] = value
            case .putDebounce(let record): debounces[record.key] = record
            case .putBatch(let record): batches[record.key] = record
            case .putRun(let run, _, _): runs[run.id] = run
            default: break
            }
        }
        #expect(debounces.count == 1 && batches.first?.value.events.count == 2 && runs.count == 2)

        var restarted = CoreHarness()
        restarted.now = t0 + 100
        restarted.core.restore(
            functions: all, runs: Array(runs.values), flowStates: states, debounces: Array(debounces.values),
            batches: Array(batches.values), now: restarted.now)
        _ = try restarted.connect("c1", capacity: 10, functions: all)
        #expect(restarted.core.status(now: restarted.now).functions.map(\.id) == ["shop:batched", "shop:debounced", "shop:throttled"])
        let debounceRun = Self.runs(restarted.tick(at: t0 + 1_000))
        #expect(debounceRun.map { $0.functionId } == ["shop:debounced"])
        #expect(debounceRun.first?.events.map(\.data) == [Array(#"{"tenant":"a","n":1}"#.utf8)])
        let batchRun = H.dispatches(restarted.tick(at: t0 + 2_000)).filter { $0.run.functionId == "shop:batched" }
        #expect(batchRun.map { $0.run.events.count } == [2])
        // The first throttled run started 100 ms late, at the restart: the second, reserved for
        // t0 + 3 s, waits one whole period after it, so that no period holds two starts.
        let onTime = H.dispatches(restarted.tick(at: t0 + 3_000)).filter { $0.run.functionId == "shop:throttled" }
        #expect(onTime.isEmpty, "held: the first start was at t0 + 100 ms")
        let throttledRun = H.dispatches(restarted.tick(at: t0 + 3_100)).filter { $0.run.functionId == "shop:throttled" }
        #expect(throttledRun.count == 1, "the second throttled run starts one period after the first")
        // The throttle's state came back too: a new run queues behind the restored slot.
        let more = restarted.sendAll([H.tenantEvent("a", 2)])
        let newRun = try #require(more.receipts[0].runIds.first { restarted.core.runs[$0]?.functionId == "shop:throttled" })
        #expect(restarted.core.runs[newRun]?.nextAttemptAtMilliseconds == t0 + 6_000)
    }
}
