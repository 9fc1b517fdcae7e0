import SwiftProtobuf
import TetherEngine
import TetherProtocol

/// What one retention sweep found due, read from the store: ended runs past the runs window
/// (with the keys that hold them), events past the events window, and pruned event ids whose
/// deduplication window has passed. ``plan(inUse:now:idWindowMilliseconds:)`` turns it into
/// the deletions; the coordinator first asks its scheduler which of ``eventIds`` live runs
/// still need.
///
/// Each index is a queue read from its ``RetentionCursor`` position: every entry a sweep reads
/// leaves its place (deleted, or moved later in time), so the next sweep starts after it and
/// never walks the deletions' tombstones again.
public struct RetentionScan: Sendable {
    /// An ended run that is due.
    public struct DueRun: Sendable {
        var indexKey: [UInt8]
        var runId: String
        /// Nil when the run is already gone (only the index entry is left).
        var functionId: String?
        var ended: Bool
        var stepKeys: [[UInt8]]
    }

    /// An event that is due.
    public struct DueEvent: Sendable {
        var indexKey: [UInt8]
        public var eventId: String
        /// Nil when the event is already gone.
        var stored: Tether_V1_StoredEvent?
    }

    var runs: [DueRun] = []
    var events: [DueEvent] = []
    /// `eventIdHold` entries due, with their event ids.
    var holds: [(key: [UInt8], eventId: String)] = []
    /// The cursor after this scan.
    public internal(set) var cursor: RetentionCursor
    /// True when an index had more due entries than the scan's limit: sweep again soon.
    public internal(set) var hasMore = false

    /// The ids of the due events that still exist, for the scheduler's in-use check.
    public var eventIds: Set<String> {
        Set(events.lazy.filter { $0.stored?.hasEvent ?? false }.map(\.eventId))
    }

    public var isEmpty: Bool { runs.isEmpty && events.isEmpty && holds.isEmpty }

    /// The writes that carry the sweep out, and what they delete.
    ///
    /// - Parameters:
    ///   - inUse: Event ids a live run, batch or debounce still needs: they stay, and come due
    ///     again one events window from `now`.
    ///   - idWindowMilliseconds: How long an event id deduplicates after it was received: an
    ///     event deleted sooner keeps its id (and the runs it started) until then.
    public func plan(inUse: Set<String>, now: Int64, idWindowMilliseconds: Int64) -> RetentionPlan {
        var plan = RetentionPlan()
        for run in runs {
            plan.batch.delete(run.indexKey)
            guard let functionId = run.functionId, run.ended else { continue }
            plan.batch.delete(KeyLayout.run(run.runId))
            plan.batch.delete(KeyLayout.functionRun(functionId: functionId, runId: run.runId))
            plan.batch.delete(KeyLayout.activeRun(run.runId))
            for key in run.stepKeys { plan.batch.delete(key) }
            plan.counts.runs += 1
            plan.counts.steps += run.stepKeys.count
        }
        for event in events {
            plan.batch.delete(event.indexKey)
            guard let stored = event.stored else { continue }
            if stored.hasEvent && inUse.contains(event.eventId) {
                plan.batch.put(KeyLayout.timed(.eventReceived, now, event.eventId), [])
                plan.counts.eventsKept += 1
                continue
            }
            let releasedAt = stored.receivedAtUnixMs + idWindowMilliseconds
            if releasedAt <= now {
                plan.batch.delete(KeyLayout.event(event.eventId))
                if stored.hasEvent { plan.counts.events += 1 } else { plan.counts.eventIds += 1 }
                continue
            }
            // Inside the id window: the payload goes now, the id (with its runs) when it ends.
            if stored.hasEvent {
                var pruned = Tether_V1_StoredEvent()
                pruned.runIds = stored.runIds
                pruned.receivedAtUnixMs = stored.receivedAtUnixMs
                plan.batch.put(KeyLayout.event(event.eventId), (try? pruned.serializedBytes()) ?? [])
                plan.counts.events += 1
            }
            plan.batch.put(KeyLayout.timed(.eventIdHold, releasedAt, event.eventId), [])
        }
        for hold in holds {
            plan.batch.delete(hold.key)
            plan.batch.delete(KeyLayout.event(hold.eventId))
            plan.counts.eventIds += 1
        }
        plan.cursor = cursor
        plan.hasMore = hasMore
        return plan
    }
}

/// Where each retention index was read up to: the last entry a sweep handled. In memory only:
/// after a restart the first sweep starts from the beginning of each index.
public struct RetentionCursor: Sendable, Equatable {
    var endedRuns: [UInt8]?
    var events: [UInt8]?
    var holds: [UInt8]?

    public init() {}
}

/// The writes of one retention sweep and what they delete.
public struct RetentionPlan: Sendable {
    public var batch = WriteBatch()
    public var counts = RetentionCounts()
    public var cursor = RetentionCursor()
    public var hasMore = false

    public init(cursor: RetentionCursor = RetentionCursor()) {
        self.cursor = cursor
    }
}

/// What retention deleted.
public struct RetentionCounts: Sendable, Equatable {
    /// Ended runs deleted (headers and indexes).
    public var runs = 0
    /// Their step records.
    public var steps = 0
    /// Event payloads deleted.
    public var events = 0
    /// Event ids released after the deduplication window (the last of a pruned event).
    public var eventIds = 0
    /// Due events kept because a live run still needs them.
    public var eventsKept = 0

    public init() {}
}
