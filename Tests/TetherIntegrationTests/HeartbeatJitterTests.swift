import Foundation
import Testing
import TetherEngine

@testable import Tether

/// Heartbeats of a thousand workers that connect together are spread over the interval
/// (docs/protocol.md: first beat at a random phase, then interval ± 20 %), measured where it
/// matters: their arrival times at the coordinator.
@Suite("Heartbeat jitter", .serialized)
struct HeartbeatJitterTests {
    @Test("1,000 workers connected at once: no 10 % slice of the heartbeat interval gets more than twice its share")
    func arrivalsSpread() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        let interval = coordinator.coordinator.configuration.timing.heartbeatIntervalMilliseconds
        let fleet = WorkerFleet(count: 1_000, prefix: "beat") {
            coordinator.workerOptions(instanceId: $0, capacity: 1)
        }
        let connectedIn = await waitForWorkers(1_000, client: client, timeout: .seconds(120))
        try #require(connectedIn != nil, "1,000 workers did not all connect")

        // Watch two full intervals: every change of a worker's lastHeartbeatAt is one arrival,
        // stamped by the coordinator when it handled the heartbeat. Polling every 200 ms cannot
        // miss one (beats of one worker are at least 0.8 × interval apart).
        let windowStart = Int64(Date().timeIntervalSince1970 * 1_000)
        let windowEnd = windowStart + Int64(2 * interval)
        var seen: [String: Set<Int64>] = [:]
        while Int64(Date().timeIntervalSince1970 * 1_000) < windowEnd + 300 {
            let status = try await client.request(.GET, "/v1/status").json
            for worker in status?["workers"]?.arrayValue ?? [] {
                guard let id = worker["instanceId"]?.stringValue, let text = worker["lastHeartbeatAt"]?.stringValue,
                    let at = Self.milliseconds(text)
                else { continue }
                seen[id, default: []].insert(at)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let arrivals = seen.values.flatMap { $0 }.filter { $0 >= windowStart && $0 < windowEnd }
        var slices = Array(repeating: 0, count: 10)
        for at in arrivals {
            slices[Int((at - windowStart) % Int64(interval)) * 10 / interval] += 1
        }
        let share = Double(arrivals.count) / 10
        print(
            "heartbeat arrivals of 1,000 workers over 2 × \(interval) ms (connected in \(connectedIn!)): \(arrivals.count); per 10 % slice: \(slices); largest \(slices.max()!) vs share \(share)"
        )
        // Each worker beats about twice in the window (interval × (1 ± 0.2)).
        #expect(arrivals.count >= 1_600)
        #expect(Double(slices.max()!) <= 2 * share, "a slice holds more than twice its share: \(slices)")
        await fleet.shutdown()
        await coordinator.shutdown()
    }

    /// `2026-11-23T11:07:00.123Z` (the API's timestamps) → Unix milliseconds.
    static func milliseconds(_ text: String) -> Int64? {
        let digits = Array(text.utf8)
        guard digits.count == 24, digits[23] == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ length: Int) -> Int32? {
            var value: Int32 = 0
            for byte in digits[from..<(from + length)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), let millis = number(20, 3)
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1_900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Int64(timegm(&parts)) * 1_000 + Int64(millis)
    }
}
