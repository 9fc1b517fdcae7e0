/// Everything that changes the scheduler, as one value. The I/O layer turns each worker frame,
/// API request and clock tick into a command and hands it to ``CoordinatorCore/apply(_:now:)``,
/// the scheduler's one entry point; what comes back is ``Effects`` to carry out.
public enum Command: Sendable {
    /// A worker finished its handshake (Hello, proof of the signing key): register its functions,
    /// resume what it still runs, then dispatch. Rejected (``Effects/Reply/rejected(_:)``) with
    /// `invalid_config` or `protocol_error` when the registration is invalid; nothing changes then.
    case register(WorkerRegistration)
    /// A Heartbeat listing the requests the worker is running.
    case heartbeat(connectionId: String, inFlight: [String])
    /// Connections heard from since the scheduler last knew, with when (Unix milliseconds): the
    /// heartbeats of an idle worker (nothing in flight, nothing changed), which its connection
    /// answers itself. They keep the connection from being taken as silent and change nothing else.
    case alive([String: Int64])
    /// The worker's capacity changed (CapacityUpdate).
    case updateCapacity(connectionId: String, capacity: Int)
    /// The worker takes no new steps (it is shutting down) and finishes what it holds.
    case pause(connectionId: String)
    /// The connection ended without a Goodbye: its leases wait for the same instance to resume them.
    case disconnect(connectionId: String)
    /// The worker said Goodbye: what it still holds goes back to the queue at once.
    case goodbye(connectionId: String)
    /// A step result, already converted (outputs checked) by the connection.
    case result(connectionId: String, requestId: String, runId: String, outcome: StepOutcome)
    /// Events to accept; `known` are ids the store already holds, with the runs they started.
    /// Replies with ``Effects/Reply/receipts(_:)``, or ``Effects/Reply/rejected(_:)`` with
    /// `overloaded` (nothing accepted) when ``Limits/maxActiveRuns`` runs are active.
    case ingest([IncomingEvent], known: [String: KnownEvent])
    /// Cancel an active run. Replies with ``Effects/Reply/cancelled(_:)``, or nothing when the
    /// run is not active here (unknown or ended: the caller looks in the store).
    case cancel(runId: String)
    /// Time passed: fire due timers, expire leases, close silent connections.
    case tick
    /// Stop dispatching steps (`true`: the store is behind, see ``Limits/maxUncommittedWriteBytes``)
    /// or start again (`false`, which dispatches what waited). Results, events and timers go on.
    case holdDispatch(Bool)

    /// A short name, for logs and the simulation's traces.
    public var name: String {
        switch self {
        case .register: "register"
        case .heartbeat: "heartbeat"
        case .alive: "alive"
        case .updateCapacity: "updateCapacity"
        case .pause: "pause"
        case .disconnect: "disconnect"
        case .goodbye: "goodbye"
        case .result: "result"
        case .ingest: "ingest"
        case .cancel: "cancel"
        case .tick: "tick"
        case .holdDispatch: "holdDispatch"
        }
    }
}

extension CoordinatorCore {
    /// Applies one command at `now` (Unix milliseconds) and returns what the I/O layer must do.
    ///
    /// With ``Configuration/checksInvariants`` (tests, the simulation, `TETHER_CHECK_INVARIANTS`),
    /// every invariant of ``invariantViolations()`` is checked after the command, and a broken
    /// one stops the process with its description.
    public mutating func apply(_ command: Command, now: Int64) -> Effects {
        var effects: Effects
        switch command {
        case .register(let registration):
            do {
                effects = try applyRegister(registration, now: now)
            } catch {
                effects = Effects()
                effects.reply = .rejected(error)
            }
        case .heartbeat(let connectionId, let inFlight):
            effects = applyHeartbeat(connectionId: connectionId, inFlight: inFlight, now: now)
        case .alive(let heard):
            applyAlive(heard)
            effects = Effects()
        case .updateCapacity(let connectionId, let capacity):
            effects = applyCapacity(connectionId: connectionId, capacity: capacity, now: now)
        case .pause(let connectionId):
            effects = applyPause(connectionId: connectionId, now: now)
        case .disconnect(let connectionId):
            effects = applyDisconnect(connectionId: connectionId, resumable: true, now: now)
        case .goodbye(let connectionId):
            effects = applyDisconnect(connectionId: connectionId, resumable: false, now: now)
        case .result(let connectionId, let requestId, let runId, let outcome):
            effects = applyResult(connectionId: connectionId, requestId: requestId, runId: runId, outcome: outcome, now: now)
        case .ingest(let events, let known):
            effects = applyIngest(events, known: known, now: now)
        case .cancel(let runId):
            effects = applyCancel(runId: runId, now: now)
        case .tick:
            effects = applyTick(now: now)
        case .holdDispatch(let held):
            effects = applyHoldDispatch(held, now: now)
        }
        if configuration.checksInvariants {
            let problems = invariantViolations()
            precondition(
                problems.isEmpty, "after \(command.name) at \(now): \(problems.joined(separator: "; "))")
        }
        return effects
    }
}
