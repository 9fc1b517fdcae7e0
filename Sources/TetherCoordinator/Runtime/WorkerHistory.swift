import DequeModule
import TetherEngine

/// Recent capacity and in-flight samples per worker instance, for `GET /v1/workers`.
///
/// Keyed by instance id, so a worker that reconnects keeps its history. A sample is taken every
/// `intervalMilliseconds` for each connected worker; an instance disconnected for longer than the
/// history spans is forgotten. Memory is bounded: `maxSamples` per instance.
struct WorkerHistory: Sendable {
    struct Sample: Sendable, Equatable {
        var atMilliseconds: Int64
        var capacity: Int
        var inFlight: Int
    }

    let intervalMilliseconds: Int64
    let maxSamples: Int
    private(set) var samples: [String: Deque<Sample>] = [:]
    private var lastSampleAtMilliseconds: Int64?

    init(intervalMilliseconds: Int64 = 5_000, maxSamples: Int = 120) {
        self.intervalMilliseconds = intervalMilliseconds
        self.maxSamples = maxSamples
    }

    /// Takes a sample of every connected worker if the interval has passed since the last one.
    mutating func sampleIfDue(_ workers: some Collection<WorkerState>, now: Int64) {
        if let last = lastSampleAtMilliseconds, now - last < intervalMilliseconds { return }
        lastSampleAtMilliseconds = now
        var connected: Set<String> = []
        for worker in workers {
            let instance = worker.registration.instanceId
            connected.insert(instance)
            var list = samples.removeValue(forKey: instance) ?? []
            list.append(Sample(atMilliseconds: now, capacity: worker.capacity, inFlight: worker.inFlight.count))
            while list.count > maxSamples { list.removeFirst() }
            samples[instance] = list
        }
        let span = intervalMilliseconds * Int64(maxSamples)
        for (instance, list) in samples where !connected.contains(instance) {
            if let last = list.last, now - last.atMilliseconds > span { samples[instance] = nil }
        }
    }

    /// The samples of one instance, oldest first.
    func history(of instanceId: String) -> [Sample] {
        samples[instanceId].map(Array.init) ?? []
    }
}
