import Testing
import TetherEngine
import TetherProtocol

@Suite("Reconnect backoff")
struct ReconnectBackoffTests {
    @Test("delays never exceed the cap or min(cap, base × 2^attempt)")
    func bounded() {
        var backoff = ReconnectBackoff()
        var generator = SplitMix64(seed: 10)
        for attempt in 0..<200 {
            #expect(backoff.attempt == attempt)
            let bound = backoff.currentBoundMilliseconds
            #expect(bound == min(30_000, attempt < 30 ? 100 << attempt : 30_000))
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay >= 0 && delay <= bound)
        }
        #expect(backoff.currentBoundMilliseconds == 30_000)
    }

    @Test("delays grow with the attempt on average, then level off at half the cap")
    func growsOnAverage() {
        var generator = SplitMix64(seed: 11)
        let trials = 4_000
        var means: [Double] = []
        for attempt in 0..<12 {
            var total = 0
            for _ in 0..<trials {
                var backoff = ReconnectBackoff()
                for _ in 0..<attempt { _ = backoff.nextDelay(using: &generator) }
                total += backoff.nextDelay(using: &generator)
            }
            means.append(Double(total) / Double(trials))
        }
        for attempt in 0..<8 {
            #expect(means[attempt + 1] > means[attempt] * 1.5)
        }
        #expect(abs(means[11] - 15_000) < 750)
    }

    @Test("reset starts over from the base")
    func reset() {
        var backoff = ReconnectBackoff(baseMilliseconds: 50, capMilliseconds: 1_000)
        var generator = SplitMix64(seed: 12)
        for _ in 0..<10 { _ = backoff.nextDelay(using: &generator) }
        #expect(backoff.attempt == 10)
        #expect(backoff.currentBoundMilliseconds == 1_000)
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.currentBoundMilliseconds == 50)
        #expect(backoff.nextDelay(using: &generator) <= 50)
    }

    @Test("a server's retry-after is honoured, plus up to 20% spread")
    func atLeast() {
        var generator = SplitMix64(seed: 13)
        var delays: [Int] = []
        for _ in 0..<1_000 {
            var backoff = ReconnectBackoff()
            let delay = backoff.nextDelay(atLeast: 10_000, using: &generator)
            #expect(backoff.attempt == 1)
            #expect((10_000...12_000).contains(delay))
            delays.append(delay)
        }
        // Workers told the same retry-after come back spread out.
        #expect(Set(delays).count > 500)
        #expect(delays.contains { $0 < 10_400 })
        #expect(delays.contains { $0 > 11_600 })

        // When the backoff itself is longer, it wins (still plus the spread).
        var late = ReconnectBackoff(baseMilliseconds: 10_000, capMilliseconds: 10_000)
        for _ in 0..<100 {
            let delay = late.nextDelay(atLeast: 1, using: &generator)
            #expect((1...12_000).contains(delay))
        }
        var zero = ReconnectBackoff(baseMilliseconds: 0, capMilliseconds: 0)
        #expect(zero.nextDelay(atLeast: 0, using: &generator) == 0)
    }
}
