import Testing

@testable import TetherEngine

@Suite("Retention: the policy and the events live runs need")
struct RetentionTests {
    typealias H = CoreHarness

    @Test("durations: a whole number and a unit, within 1 s and 3660 d")
    func durations() {
        #expect(RetentionPolicy.parseDuration("30s") == 30_000)
        #expect(RetentionPolicy.parseDuration("15m") == 900_000)
        #expect(RetentionPolicy.parseDuration("12h") == 43_200_000)
        #expect(RetentionPolicy.parseDuration("7d") == 604_800_000)
        #expect(RetentionPolicy.parseDuration("1500ms") == 1_500)
        #expect(RetentionPolicy.parseDuration("1s") == 1_000)
        for bad in ["", "7", "d", "-1d", "1.5h", "1w", "7 d", "999ms", "0s", "3661d", "99999999999999d", "+5s", "٣s"] {
            #expect(RetentionPolicy.parseDuration(bad) == nil, "\(bad)")
        }
        #expect(RetentionPolicy.format(milliseconds: 604_800_000) == "7d")
        #expect(RetentionPolicy.format(milliseconds: 90_000) == "90s")
        #expect(RetentionPolicy.format(milliseconds: 1_500) == "1500ms")
    }

    @Test("cutoffs and the sweep interval follow the windows")
    func cutoffs() {
        let policy = RetentionPolicy(runsMilliseconds: 2_000, eventsMilliseconds: 10_000)
        #expect(policy.runCutoff(now: 50_000) == 48_000)
        #expect(policy.eventCutoff(now: 50_000) == 40_000)
        #expect(policy.sweepIntervalMilliseconds == 1_000)
        #expect(RetentionPolicy.default.sweepIntervalMilliseconds == 60_000)
        #expect(RetentionPolicy(milliseconds: 60_000).sweepIntervalMilliseconds == 30_000)
    }

    static func function(_ slug: String, event: String, flow: FlowControl = FlowControl()) -> FunctionDefinition {
        FunctionDefinition(app: "shop", slug: slug, name: slug, triggers: [.event(name: event, expression: nil)], flow: flow)
    }

    @Test("events in use: a live run's, a collecting batch's, a waiting debounce's; not an ended run's")
    func eventsInUse() throws {
        var h = CoreHarness()
        let functions = [
            Self.function("plain", event: "t/run"),
            Self.function("batched", event: "t/batch", flow: FlowControl(batchEvents: BatchEvents(maxSize: 10, timeoutMilliseconds: 60_000))),
            Self.function("debounced", event: "t/debounce", flow: FlowControl(debounce: Debounce(periodMilliseconds: 60_000))),
        ]
        _ = try h.connect("c1", capacity: 10, functions: functions)
        let started = h.sendAll([IncomingEvent(id: "E-run", name: "t/run", data: Array("{}".utf8))])
        _ = h.sendAll([IncomingEvent(id: "E-batch", name: "t/batch", data: Array("{}".utf8))])
        _ = h.sendAll([IncomingEvent(id: "E-debounce", name: "t/debounce", data: Array("{}".utf8))])
        let all: Set<String> = ["E-run", "E-batch", "E-debounce", "E-other"]
        #expect(h.core.eventsInUse(among: all) == ["E-run", "E-batch", "E-debounce"])
        #expect(h.core.eventsInUse(among: ["E-batch"]) == ["E-batch"])
        #expect(h.core.eventsInUse(among: []).isEmpty)
        // The run ends: its event is no longer needed.
        let dispatch = try #require(H.dispatches(started.effects).first)
        _ = h.finish(dispatch)
        #expect(h.core.runs[dispatch.run.id] == nil)
        #expect(h.core.eventsInUse(among: all) == ["E-batch", "E-debounce"])
    }
}
