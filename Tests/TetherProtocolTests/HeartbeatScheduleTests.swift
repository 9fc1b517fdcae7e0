import Testing
import TetherEngine
import TetherProtocol

@Suite("Heartbeat schedule")
struct HeartbeatScheduleTests {
    @Test("first delays spread evenly over the interval")
    func firstDelaysSpread() {
        let schedule = HeartbeatSchedule(intervalMilliseconds: 5_000, jitter: 0.2)
        var generator = SplitMix64(seed: 1)
        var buckets = [Int](repeating: 0, count: 10)
        let samples = 10_000
        for _ in 0..<samples {
            let delay = schedule.firstDelay(using: &generator)
            #expect((0..<5_000).contains(delay))
            buckets[delay * 10 / 5_000] += 1
        }
        // No tenth of the interval holds more than twice its share, and none is empty-ish.
        #expect(buckets.allSatisfy { $0 <= 2 * samples / 10 })
        #expect(buckets.allSatisfy { $0 >= samples / 20 })
    }

    @Test("later delays stay within interval × (1 ± jitter) and use the whole range")
    func nextDelaysWithinJitter() {
        let schedule = HeartbeatSchedule(intervalMilliseconds: 5_000, jitter: 0.2)
        #expect(schedule.nextDelayRange == 4_000...6_000)
        var generator = SplitMix64(seed: 2)
        let delays = (0..<10_000).map { _ in schedule.nextDelay(using: &generator) }
        #expect(delays.allSatisfy { (4_000...6_000).contains($0) })
        #expect(delays.contains { $0 < 4_200 })
        #expect(delays.contains { $0 > 5_800 })
        let mean = Double(delays.reduce(0, +)) / Double(delays.count)
        #expect(abs(mean - 5_000) < 50)
    }

    @Test("the defaults come from ProtocolTiming")
    func defaults() {
        let schedule = HeartbeatSchedule()
        #expect(schedule.intervalMilliseconds == ProtocolTiming.default.heartbeatIntervalMilliseconds)
        #expect(schedule.jitter == ProtocolTiming.default.heartbeatJitter)
    }

    @Test("values from the peer are clamped, not trusted")
    func clamping() {
        var generator = SplitMix64(seed: 3)
        let zero = HeartbeatSchedule(intervalMilliseconds: 0, jitter: -1)
        #expect(zero.intervalMilliseconds == 1)
        #expect(zero.jitter == 0)
        #expect(zero.firstDelay(using: &generator) == 0)
        #expect(zero.nextDelay(using: &generator) == 1)
        let wild = HeartbeatSchedule(intervalMilliseconds: 1_000, jitter: 7)
        #expect(wild.jitter == 0.99)
        #expect(wild.nextDelayRange.lowerBound >= 1)
        #expect(HeartbeatSchedule(intervalMilliseconds: 1_000, jitter: .nan).jitter == 0)
        let exact = HeartbeatSchedule(intervalMilliseconds: 1_000, jitter: 0)
        #expect(exact.nextDelay(using: &generator) == 1_000)
    }
}
