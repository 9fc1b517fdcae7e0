import Testing

@testable import TetherEngine

/// The tests' shorthand for commands: each goes through ``CoordinatorCore/apply(_:now:)``, the
/// scheduler's one entry point, and every invariant is checked after it.
extension CoordinatorCore {
    mutating func applyChecked(
        _ command: Command, now: Int64
    ) -> Effects {
        let effects = apply(command, now: now)
        checkInvariants()
        return effects
    }

    mutating func register(
        _ registration: WorkerRegistration, now: Int64
    ) throws(TetherError) -> Effects {
        let effects = applyChecked(.register(registration), now: now)
        if case .rejected(let error) = effects.reply { throw error }
        return effects
    }

    mutating func disconnect(connectionId: String, now: Int64)
        -> Effects
    {
        applyChecked(.disconnect(connectionId: connectionId), now: now)
    }

    mutating func goodbye(connectionId: String, now: Int64) -> Effects {
        applyChecked(.goodbye(connectionId: connectionId), now: now)
    }

    mutating func heartbeat(
        connectionId: String, inFlight: [String], now: Int64
    ) -> Effects {
        applyChecked(.heartbeat(connectionId: connectionId, inFlight: inFlight), now: now)
    }

    mutating func updateCapacity(
        connectionId: String, capacity: Int, now: Int64
    ) -> Effects {
        applyChecked(.updateCapacity(connectionId: connectionId, capacity: capacity), now: now)
    }

    @discardableResult
    mutating func pause(connectionId: String, now: Int64) -> Effects {
        applyChecked(.pause(connectionId: connectionId), now: now)
    }

    mutating func handleResult(
        connectionId: String, requestId: String, runId: String, outcome: StepOutcome, now: Int64,
        
    ) -> Effects {
        applyChecked(
            .result(connectionId: connectionId, requestId: requestId, runId: runId, outcome: outcome), now: now)
    }

    mutating func ingest(
        _ events: [IncomingEvent], known: [String: KnownEvent] = [:], now: Int64,
        
    ) -> (receipts: [EventReceipt], effects: Effects) {
        let effects = applyChecked(.ingest(events, known: known), now: now)
        guard case .receipts(let receipts) = effects.reply else {
            Issue.record("ingest did not answer with receipts")
            return ([], effects)
        }
        return (receipts, effects)
    }

    mutating func cancel(runId: String, now: Int64)
        -> (run: RunRecord, effects: Effects)?
    {
        let effects = applyChecked(.cancel(runId: runId), now: now)
        guard case .cancelled(let run) = effects.reply else { return nil }
        return (run, effects)
    }

    mutating func tick(now: Int64) -> Effects {
        applyChecked(.tick, now: now)
    }
}
