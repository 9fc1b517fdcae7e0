import DequeModule
import HeapModule

/// A function's ready work, in lanes: one per fairness key (the value of its first keyed
/// concurrency limit; a single lane `""` otherwise). The dispatcher visits the lanes round-robin,
/// so a key with a deep backlog never starves one with a single item; within a lane, work goes
/// out by rank (its run's creation time minus the run's priority), then in arrival order.
struct FunctionQueue: Sendable {
    struct Entry: Comparable, Sendable {
        var rank: Int64
        /// 0 for a run that has started, 1 for one that has not: of runs of equal rank (created
        /// in the same millisecond), started ones go first, so a run that has started finishes
        /// ahead of its batch, and its next request is written with the header its last result
        /// wrote anyway.
        var notStarted: UInt8 = 0
        var sequence: UInt64
        var item: CoordinatorCore.WorkItem

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.rank, lhs.notStarted, lhs.sequence) < (rhs.rank, rhs.notStarted, rhs.sequence)
        }
        static func == (lhs: Self, rhs: Self) -> Bool { lhs.sequence == rhs.sequence }
    }

    struct Lane: Sendable {
        var entries: Heap<Entry> = []
        /// True while the lane's key is in `rotation`.
        var inRotation = false
        /// The concurrency key whose limit is full, holding this lane until one of its steps ends.
        var parkedOn: String?
    }

    var lanes: [String: Lane] = [:]
    /// Lanes with work that may be dispatchable, in visiting order.
    var rotation: Deque<String> = []
    /// A function-wide concurrency limit that is full: the function is out of the backlog
    /// until one of its steps ends.
    var parkedOn: String?

    var isEmpty: Bool { lanes.isEmpty }

    /// Adds an entry to its lane, putting the lane in rotation unless it is parked.
    mutating func push(_ entry: Entry, lane key: String) {
        lanes[key, default: Lane()].entries.insert(entry)
        if lanes[key]!.parkedOn == nil, !lanes[key]!.inRotation {
            lanes[key]!.inRotation = true
            rotation.append(key)
        }
    }

    /// Puts a parked lane back in rotation. Returns true when it was parked on `constraint`.
    mutating func unpark(lane key: String, from constraint: String) -> Bool {
        guard lanes[key]?.parkedOn == constraint else { return false }
        lanes[key]!.parkedOn = nil
        if !lanes[key]!.inRotation {
            lanes[key]!.inRotation = true
            rotation.append(key)
        }
        return true
    }

    /// Puts every parked lane back in rotation (the function's limits changed).
    mutating func unparkAll() {
        parkedOn = nil
        for key in lanes.keys where lanes[key]!.parkedOn != nil {
            _ = unpark(lane: key, from: lanes[key]!.parkedOn!)
        }
    }
}
