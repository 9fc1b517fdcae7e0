import Testing

@testable import TetherEngine

@Suite("Cron triggers")
struct CronTriggerTests {
    static let minute: Int64 = 60_000
    /// 2023-11-14T22:13:20Z, as in the harness.
    static let start: Int64 = 1_700_000_000_000

    static func report() -> FunctionDefinition {
        FunctionDefinition(app: "shop", slug: "report", name: "", triggers: [.cron(schedule: "*/5 * * * *", timeZone: "")])
    }

    static func startedRuns(_ effects: Effects) -> [RunRecord] {
        effects.writes.compactMap { if case .putRun(let run, _, true) = $0 { run } else { nil } }
    }

    static func ticks(_ effects: Effects) -> [Int64] {
        effects.writes.compactMap { if case .putCronTick(_, let at) = $0 { at } else { nil } }
    }

    @Test("a cron trigger starts one run per tick, with the tick recorded in the same write")
    func firesPerTick() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 0, functions: [Self.report()])
        let first = try #require(h.core.nextTimerDeadline)
        #expect(first == 1_700_000_100_000, "22:15:00, the next multiple of five minutes")
        #expect(Self.startedRuns(h.tick(at: first - 1)).isEmpty)
        let fired = h.tick(at: first)
        let runs = Self.startedRuns(fired)
        #expect(runs.count == 1)
        #expect(runs[0].events[0].name == "tether/cron")
        #expect(try JSONValue(parsing: runs[0].events[0].data)["scheduledAt"] == .int(first))
        #expect(Self.ticks(fired) == [first])
        #expect(h.core.nextTimerDeadline == first + 5 * Self.minute)
        #expect(Self.startedRuns(h.tick(at: first + Self.minute)).isEmpty, "once per tick")
    }

    @Test("after a restart, a tick already fired does not fire again; missed ticks fire once")
    func acrossRestarts() throws {
        let key = CoordinatorCore.cronKey(functionId: "shop:report", schedule: "*/5 * * * *", timeZone: "")
        let fired: Int64 = 1_700_000_100_000

        var same = CoreHarness()
        same.now = fired + Self.minute
        same.core.restore(functions: [Self.report()], runs: [], cronTicks: [key: fired], now: same.now)
        #expect(same.core.nextTimerDeadline == fired + 5 * Self.minute)
        #expect(Self.startedRuns(same.tick(at: same.now)).isEmpty)

        var late = CoreHarness()
        late.now = fired + 17 * Self.minute
        late.core.restore(functions: [Self.report()], runs: [], cronTicks: [key: fired], now: late.now)
        let catchUp = late.tick(at: late.now)
        #expect(Self.startedRuns(catchUp).count == 1, "the three missed ticks fire once")
        #expect(Self.ticks(catchUp) == [fired + 15 * Self.minute])
        #expect(late.core.nextTimerDeadline == fired + 20 * Self.minute)
    }

    @Test("a changed schedule replaces the old one")
    func changedSchedule() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 0, functions: [Self.report()])
        var hourly = Self.report()
        hourly.triggers = [.cron(schedule: "0 * * * *", timeZone: "Europe/Paris")]
        _ = h.core.disconnect(connectionId: "c1", now: h.now)
        _ = try h.connect("c2", capacity: 0, functions: [hourly])
        let fired = h.tick(at: 1_700_000_100_000)
        #expect(Self.startedRuns(fired).isEmpty, "the five-minute tick is gone")
        #expect(h.core.nextTimerDeadline == 1_700_002_800_000, "23:00 UTC, the next full hour")
    }
}
