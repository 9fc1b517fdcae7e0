import Testing
@testable import TetherEngine

@testable import TetherCoordinator

/// `GET /v1/workers`' samples: one per interval per connected worker, kept as stretches of equal
/// values, the last `maxSamples` of them, forgotten once an instance has none left.
@Suite("Worker history")
struct WorkerHistoryTests {
    static func worker(_ instance: String, capacity: Int, inFlight: Int = 0) -> WorkerState {
        var state = WorkerState(
            registration: WorkerRegistration(
                connectionId: "c-\(instance)", instanceId: instance, app: "shop", capacity: capacity, functions: []),
            capacity: capacity, connectedAtMilliseconds: 0, lastHeartbeatAtMilliseconds: 0)
        state.inFlight = Set((0..<inFlight).map { "r\($0)" })
        return state
    }

    @Test("a sample per interval, changes kept in order, the oldest dropped past maxSamples")
    func samples() {
        var history = WorkerHistory(intervalMilliseconds: 100, maxSamples: 4)
        let values = [(2, 0), (2, 0), (2, 1), (3, 1), (3, 1), (1, 0)]
        for (index, (capacity, inFlight)) in values.enumerated() {
            let now = Int64(index) * 100
            history.sampleIfDue([Self.worker("a", capacity: capacity, inFlight: inFlight)], now: now)
            // Not due again within the interval.
            history.sampleIfDue([Self.worker("a", capacity: 9)], now: now + 50)
        }
        #expect(
            history.history(of: "a")
                == [
                    .init(atMilliseconds: 200, capacity: 2, inFlight: 1), .init(atMilliseconds: 300, capacity: 3, inFlight: 1),
                    .init(atMilliseconds: 400, capacity: 3, inFlight: 1), .init(atMilliseconds: 500, capacity: 1, inFlight: 0),
                ])
    }

    @Test("an instance keeps its samples across a gap, and is forgotten once none is left in the window")
    func gapsAndForgetting() {
        var history = WorkerHistory(intervalMilliseconds: 10, maxSamples: 3)
        history.sampleIfDue([Self.worker("a", capacity: 1), Self.worker("b", capacity: 5)], now: 0)
        history.sampleIfDue([Self.worker("b", capacity: 5)], now: 10)
        history.sampleIfDue([Self.worker("a", capacity: 1), Self.worker("b", capacity: 5)], now: 20)
        #expect(history.history(of: "a").map(\.atMilliseconds) == [0, 20])
        #expect(history.history(of: "b").map(\.atMilliseconds) == [0, 10, 20])
        for step in 3...8 { history.sampleIfDue([Self.worker("b", capacity: 5)], now: Int64(step) * 10) }
        #expect(history.history(of: "a").isEmpty)
        #expect(history.instanceCount == 1)
        #expect(history.history(of: "b").map(\.atMilliseconds) == [60, 70, 80])
    }

    @Test("10,000 idle workers for the whole window cost one stretch each")
    func idleWorkersStayCompact() {
        var history = WorkerHistory(intervalMilliseconds: 1, maxSamples: 120)
        let workers = (0..<10_000).map { Self.worker("w\($0)", capacity: 1) }
        for now in 0..<240 { history.sampleIfDue(workers, now: Int64(now)) }
        #expect(history.instanceCount == 10_000)
        #expect(history.history(of: "w42").count == 120)
        #expect(history.history(of: "w42").first?.atMilliseconds == 120)
        #expect(history.stretchCount == 10_000)
    }
}
