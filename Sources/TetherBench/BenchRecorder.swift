import Foundation
import Synchronization

/// Collects the timings of a benchmark: when each run's event was sent, when each step
/// started and ended, and when runs finished.
final class BenchRecorder: Sendable {
    private struct State {
        var sentAt: [String: UInt64] = [:]  // order id → send time (ns)
        var lastStepEnd: [String: UInt64] = [:]
        var eventToFirstStep: [Double] = []
        var stepToStep: [Double] = []
        var steps = 0
        var finished = 0
        var waiters: [(Int, CheckedContinuation<Void, Never>)] = []
        var parallelDone: [String: Int] = [:]

        /// Counts a finished run; returns the waiters it satisfies.
        mutating func finishRun() -> [CheckedContinuation<Void, Never>] {
            finished += 1
            let ready = waiters.filter { $0.0 <= finished }.map(\.1)
            waiters.removeAll { $0.0 <= finished }
            return ready
        }
    }

    private let state = Mutex(State())

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func sent(_ key: String, at time: UInt64) {
        state.withLock { $0.sentAt[key] = time }
    }

    /// A step closure starts: step→step latency from the end of the run's previous step.
    func stepStarted(_ key: String, index: Int) {
        let now = Self.now()
        state.withLock { state in
            if index == 0 {
                if let sent = state.sentAt[key] { state.eventToFirstStep.append(Double(now &- sent) / 1e6) }
            } else if let previous = state.lastStepEnd[key] {
                state.stepToStep.append(Double(now &- previous) / 1e6)
            }
        }
    }

    /// One of a run's `count` parallel steps ran: event→step latency for each; the run is
    /// finished when all have run.
    func parallelStepRan(_ key: String, of count: Int) {
        let now = Self.now()
        let resumed: [CheckedContinuation<Void, Never>] = state.withLock { state in
            if let sent = state.sentAt[key] { state.eventToFirstStep.append(Double(now &- sent) / 1e6) }
            state.steps += 1
            state.parallelDone[key, default: 0] += 1
            guard state.parallelDone[key] == count else { return [] }
            state.parallelDone[key] = nil
            return state.finishRun()
        }
        for continuation in resumed { continuation.resume() }
    }

    func stepEnded(_ key: String, last: Bool) {
        let now = Self.now()
        let resumed: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.steps += 1
            state.lastStepEnd[key] = now
            guard last else { return [] }
            return state.finishRun()
        }
        for continuation in resumed { continuation.resume() }
    }

    /// Waits until `count` runs have run their last step.
    func waitForFinished(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.finished >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    var finished: Int { state.withLock { $0.finished } }
    var steps: Int { state.withLock { $0.steps } }
    var latencies: (eventToFirstStep: [Double], stepToStep: [Double]) {
        state.withLock { ($0.eventToFirstStep, $0.stepToStep) }
    }
}

/// p50/p90/p99/max of a sample, in milliseconds.
func percentiles(_ values: [Double]) -> [String: Double] {
    guard !values.isEmpty else { return [:] }
    let sorted = values.sorted()
    func at(_ p: Double) -> Double {
        let rank = Int((p * Double(sorted.count - 1)).rounded())
        return (sorted[rank] * 1_000).rounded() / 1_000
    }
    return ["p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1), "count": Double(sorted.count)]
}
