import DequeModule
import TetherEngine

/// Recent capacity and in-flight samples per worker instance, for `GET /v1/workers`.
///
/// Keyed by instance id, so a worker that reconnects keeps its history. A sample is taken every
/// `intervalMilliseconds` for each connected worker; an instance with no sample among the last
/// `maxSamples` is forgotten. Samples are kept as stretches of equal values: an idle worker
/// costs one stretch however long its history, not `maxSamples` samples (10,000 idle workers
/// hold well under a megabyte instead of about 30).
struct WorkerHistory: Sendable {
    struct Sample: Sendable, Equatable {
        var atMilliseconds: Int64
        var capacity: Int
        var inFlight: Int
    }

    /// Consecutive samples of one instance with the same values, by sample number.
    private struct Stretch: Sendable {
        var first: Int
        var count: Int
        var capacity: Int
        var inFlight: Int

        var end: Int { first + count }
    }

    let intervalMilliseconds: Int64
    let maxSamples: Int
    /// When each of the last `maxSamples` samples was taken; the last is sample `taken - 1`.
    private var times: Deque<Int64> = []
    /// Samples taken so far: the number of the next one.
    private var taken = 0
    private var stretches: [String: Deque<Stretch>] = [:]

    init(intervalMilliseconds: Int64 = 5_000, maxSamples: Int = 120) {
        self.intervalMilliseconds = intervalMilliseconds
        self.maxSamples = max(1, maxSamples)
    }

    /// The number of the oldest sample kept.
    private var oldest: Int { taken - times.count }

    /// Instances with a history (connected, or seen within the last `maxSamples` samples).
    var instanceCount: Int { stretches.count }
    /// Stretches held over every instance (what the history costs).
    var stretchCount: Int { stretches.values.reduce(0) { $0 + $1.count } }

    /// Takes a sample of every connected worker if the interval has passed since the last one.
    mutating func sampleIfDue(_ workers: some Collection<WorkerState>, now: Int64) {
        if let last = times.last, now - last < intervalMilliseconds { return }
        let number = taken
        taken += 1
        times.append(now)
        if times.count > maxSamples { times.removeFirst() }
        let oldest = self.oldest
        for worker in workers {
            let (capacity, inFlight) = (worker.capacity, worker.inFlight.count)
            Self.record(
                into: &stretches[worker.registration.instanceId, default: []], number: number, capacity: capacity,
                inFlight: inFlight, keepingFrom: oldest)
        }
        if number % maxSamples == 0 {
            // Forget instances with no sample left in the window (checked once per window).
            stretches = stretches.filter { ($0.value.last?.end ?? 0) > oldest }
        }
    }

    /// Adds sample `number` to `list`, extending its last stretch when the values are the same,
    /// and drops the stretches that ended before sample `oldest`.
    private static func record(
        into list: inout Deque<Stretch>, number: Int, capacity: Int, inFlight: Int, keepingFrom oldest: Int
    ) {
        if let last = list.last, last.end == number, last.capacity == capacity, last.inFlight == inFlight {
            list[list.count - 1].count += 1
        } else {
            list.append(Stretch(first: number, count: 1, capacity: capacity, inFlight: inFlight))
        }
        while let first = list.first, first.end <= oldest { list.removeFirst() }
    }

    /// The samples of one instance still in the window, oldest first.
    func history(of instanceId: String) -> [Sample] {
        guard let list = stretches[instanceId] else { return [] }
        var samples: [Sample] = []
        for stretch in list where stretch.end > oldest {
            for number in max(stretch.first, oldest)..<stretch.end {
                samples.append(
                    Sample(atMilliseconds: times[number - oldest], capacity: stretch.capacity, inFlight: stretch.inFlight))
            }
        }
        return samples
    }
}
