import Testing

@testable import TetherEngine

/// Numbers a worker puts in planned steps (sleep durations and times, wait timeouts, event
/// timestamps): out of range, they fail the step; none of them may trap the coordinator.
@Suite("Planned steps: extreme numbers")
struct PlannedNumbersTests {
    static let maxSleep = Limits.default.maxSleepMilliseconds

    /// Plans one step on a fresh run and returns the run's step as the next dispatch carries it.
    static func planOne(_ operation: PlannedOperation) throws -> (harness: CoreHarness, step: StepRecord) {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let effects = h.plan(dispatch, [PlannedStep(stepId: "s", operation: operation)])
        let run = try #require(CoreHarness.written(effects, run: dispatch.run.id))
        return (h, try #require(run.steps.first))
    }

    @Test(
        "a sleep longer than the limit fails the step with invalid_input, however large",
        arguments: [
            (Int64.max, Int64(0)), (Int64.max - 1_000, Int64(0)), (Int64.max, Int64.max),
            (Limits.default.maxSleepMilliseconds + 1, Int64(0)),
            (Int64(0), Int64.max), (Int64(0), Int64.max - 1), (Int64.min, Int64(0)), (Int64.min, Int64.min),
            (Int64(-1), Int64.max),
        ])
    func sleepTooLong(duration: Int64, until: Int64) throws {
        let (h, step) = try Self.planOne(.sleep(durationMilliseconds: duration, untilMilliseconds: until))
        #expect(step.status == .failed)
        #expect(step.error?.code == "invalid_input")
        #expect(h.core.nextTimerDeadline == nil, "no timer was armed")
    }

    @Test("sleep until a time far in the past, even Int64.min, completes at once")
    func sleepUntilLongAgo() throws {
        for until in [Int64.min, Int64.min + 1, -1, 1] {
            let (_, step) = try Self.planOne(.sleep(durationMilliseconds: 0, untilMilliseconds: until))
            #expect(step.status == .completed, "until \(until)")
        }
    }

    @Test("a sleep of exactly the limit, by duration or by time, is armed")
    func sleepAtTheLimit() throws {
        let (h, step) = try Self.planOne(.sleep(durationMilliseconds: Self.maxSleep, untilMilliseconds: 0))
        #expect(step.status == .sleeping)
        #expect(step.dueAtMilliseconds == h.now + Self.maxSleep)
        let now = CoreHarness().now
        let (_, untilStep) = try Self.planOne(.sleep(durationMilliseconds: 0, untilMilliseconds: now + Self.maxSleep))
        #expect(untilStep.status == .sleeping)
        #expect(untilStep.dueAtMilliseconds == now + Self.maxSleep)
    }

    @Test("a wait timeout out of range fails the step with invalid_input", arguments: [Int64.max, Int64.min, -1, 0])
    func waitTimeout(_ timeout: Int64) throws {
        let wait = PlannedOperation.waitForEvent(event: "order/approved", match: nil, timeoutMilliseconds: timeout)
        let (h, step) = try Self.planOne(wait)
        #expect(step.status == .failed)
        #expect(step.error?.code == "invalid_input")
        #expect(h.core.nextTimerDeadline == nil)
    }

    @Test("sendEvent with a ts past year 9999 fails the step with invalid_input; one within it is kept")
    func sendEventTimestamp() throws {
        for ts in [Int64.max, Limits.default.maxEventTimestampMilliseconds + 1] {
            let event = IncomingEvent(name: "order/paid", data: Array("{}".utf8), timestampMilliseconds: ts)
            let (_, step) = try Self.planOne(.sendEvent([event]))
            #expect(step.status == .failed, "ts \(ts)")
            #expect(step.error?.code == "invalid_input")
            #expect(step.error?.message.contains("ts") == true, "\(step.error?.message ?? "")")
        }
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 1)
        let dispatch = try #require(CoreHarness.dispatches(h.send(1).effects).first)
        let ts = Limits.default.maxEventTimestampMilliseconds
        let effects = h.plan(
            dispatch,
            [
                PlannedStep(
                    stepId: "s",
                    operation: .sendEvent([
                        IncomingEvent(name: "order/paid", data: Array("{}".utf8), timestampMilliseconds: ts)
                    ]))
            ])
        #expect(CoreHarness.events(effects).map(\.timestampMilliseconds) == [ts])
    }
}
