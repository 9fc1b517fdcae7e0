import DequeModule
import Logging
import NIOCore
import NIOPosix
import TetherEngine
import TetherProtocol
import TetherStore

/// Owns the scheduler (``CoordinatorCore``) and carries out its effects.
///
/// Every method that reads or changes the scheduler must run on ``loop``: the state is
/// confined to that event loop, so commands apply one at a time without locks. Writes go
/// to the group-commit writer; the messages of a command go out only after its writes (and
/// every earlier write) are durable, so no worker ever sees state the store could lose.
final class CoordinatorRuntime: @unchecked Sendable {
    let loop: any EventLoop
    let store: CoordinatorStore
    let logger: Logger
    let configuration: CoordinatorConfiguration
    let startedAtMilliseconds: Int64
    let metrics: CoordinatorMetrics

    private var core: CoordinatorCore
    private var connections: [String: WorkerConnection] = [:]
    private var submittedWrites: UInt64 = 0
    private var committedWrites: UInt64 = 0
    private var pending: Deque<PendingEffects> = []
    private(set) var storageFailure: StoreError?
    private var periodicTick: RepeatedTask?
    private var retryTimer: Scheduled<Void>?
    private var retryTimerDeadline: Int64 = .max
    private(set) var draining = false
    /// A drain was asked for over HTTP and is about to start (the 202 leaves first); a second
    /// request in that window gets 409 like one after it started. Only on `loop`.
    var drainRequested = false
    /// Capacity and in-flight samples per worker instance (`GET /v1/workers`).
    private(set) var workerHistory: WorkerHistory
    /// At most one log line per second about refused results: a hostile client cannot flood the log.
    private var refusedResultLog = RateLimitedLog(intervalMilliseconds: 1_000)

    private struct PendingEffects {
        var sequence: UInt64
        var effects: Effects
        var onCommitted: ((Result<Void, StoreError>) -> Void)?
    }

    init(
        loop: any EventLoop, store: CoordinatorStore, configuration: CoordinatorConfiguration, core: CoordinatorCore,
        metrics: CoordinatorMetrics, logger: Logger
    ) {
        self.loop = loop
        self.store = store
        self.configuration = configuration
        self.core = core
        self.metrics = metrics
        self.logger = logger
        self.startedAtMilliseconds = configuration.clock()
        self.workerHistory = WorkerHistory(intervalMilliseconds: configuration.workerHistoryIntervalMilliseconds)
    }

    // MARK: Lifecycle

    /// Starts the periodic tick (leases, heartbeats, retry timers).
    func start() {
        loop.execute {
            self.periodicTick = self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) {
                _ in
                self.tick()
            }
        }
    }

    /// Stops timers and tells every worker to reconnect within `withinMilliseconds` (drain).
    func stop(reconnectWithinMilliseconds: UInt32) async {
        let done = loop.makePromise(of: Void.self)
        loop.execute {
            self.draining = true
            self.periodicTick?.cancel()
            self.retryTimer?.cancel()
            var frame = Tether_V1_Frame()
            frame.reconnect = .with {
                $0.withinMs = reconnectWithinMilliseconds
                $0.reason = "coordinator shutting down"
            }
            let futures = self.connections.values.map { connection -> EventLoopFuture<Void> in
                connection.channel.writeAndFlush(frame).flatMap { connection.channel.close() }
                    .recover { _ in }
            }
            self.connections.removeAll()
            EventLoopFuture.andAllComplete(futures, on: self.loop).cascade(to: done)
        }
        try? await done.futureResult.get()
    }

    // MARK: Workers

    /// Registers a worker after a successful handshake and sends it `Welcome`.
    func register(_ registration: WorkerRegistration, connection: WorkerConnection) -> Result<Void, TetherError> {
        loop.preconditionInEventLoop()
        if let error = storageUnavailable {
            return .failure(error)
        }
        if draining {
            return .failure(TetherError(.draining, "the coordinator is shutting down"))
        }
        let effects = core.apply(.register(registration), now: configuration.clock())
        if case .rejected(let error) = effects.reply {
            return .failure(error)
        }
        connections[connection.id] = connection
        let timing = configuration.timing
        var welcome = Tether_V1_Frame()
        welcome.welcome = .with {
            $0.connectionID = connection.id
            $0.heartbeatIntervalMs = UInt32(timing.heartbeatIntervalMilliseconds)
            $0.heartbeatJitter = timing.heartbeatJitter
            $0.leaseDurationMs = UInt32(timing.leaseDurationMilliseconds)
            $0.maxFrameBytes = UInt32(configuration.limits.maxFrameBytes)
            $0.protocolMajor = ProtocolVersion.major
            $0.protocolMinor = ProtocolVersion.minor
        }
        connection.send([welcome])
        logger.info(
            "worker registered",
            metadata: [
                "connection": "\(connection.id)", "instance": "\(registration.instanceId)",
                "app": "\(registration.app)", "capacity": "\(registration.capacity)",
                "functions": "\(registration.functions.map(\.slug).joined(separator: ","))",
            ])
        perform(effects)
        return .success(())
    }

    /// The connection ended without a Goodbye: its steps wait for the worker to resume them.
    func disconnect(connectionId: String) {
        loop.preconditionInEventLoop()
        guard connections.removeValue(forKey: connectionId) != nil else { return }
        logger.info("worker disconnected", metadata: ["connection": "\(connectionId)"])
        perform(core.apply(.disconnect(connectionId: connectionId), now: configuration.clock()))
    }

    /// The worker said Goodbye: what it still holds goes back to the queue at once.
    func goodbye(connectionId: String) {
        loop.preconditionInEventLoop()
        guard connections.removeValue(forKey: connectionId) != nil else { return }
        perform(core.apply(.goodbye(connectionId: connectionId), now: configuration.clock()))
    }

    func heartbeat(connectionId: String, inFlight: [String]) {
        loop.preconditionInEventLoop()
        let effects = core.apply(.heartbeat(connectionId: connectionId, inFlight: inFlight), now: configuration.clock())
        // Almost every heartbeat changes nothing but times: no queueing behind pending writes.
        if !effects.isEmpty { perform(effects) }
    }

    func updateCapacity(connectionId: String, capacity: Int) {
        loop.preconditionInEventLoop()
        perform(core.apply(.updateCapacity(connectionId: connectionId, capacity: capacity), now: configuration.clock()))
    }

    func pause(connectionId: String) {
        loop.preconditionInEventLoop()
        let effects = core.apply(.pause(connectionId: connectionId), now: configuration.clock())
        if !effects.isEmpty { perform(effects) }
    }

    /// Applies a step result, already converted (and its outputs checked) on the connection's loop.
    func handleResult(connectionId: String, requestId: String, runId: String, outcome: StepOutcome) {
        loop.preconditionInEventLoop()
        let effects = core.apply(
            .result(connectionId: connectionId, requestId: requestId, runId: runId, outcome: outcome),
            now: configuration.clock())
        metrics.recordStepResult(outcome, runId: runId, requestId: requestId, effects: effects)
        for refused in effects.refusedResults {
            metrics.recordRefusedResult(reason: refused.reason)
            refusedResultLog.record(now: configuration.clock()) { suppressed in
                logger.warning(
                    "step result refused: the sender does not hold its lease",
                    metadata: [
                        "connection": "\(connectionId)", "reason": "\(refused.reason.rawValue)",
                        "request": "\(LogText.escaped(refused.requestId))", "run": "\(LogText.escaped(runId))",
                        "suppressed": "\(suppressed)",
                    ])
            }
        }
        perform(effects)
    }

    // MARK: Events

    /// Accepts events; `completion` runs on the loop once they are durable.
    func ingest(
        _ events: [IncomingEvent], known: [String: KnownEvent],
        completion: @escaping (Result<[EventReceipt], TetherError>) -> Void
    ) {
        loop.preconditionInEventLoop()
        if let error = storageUnavailable {
            completion(.failure(error))
            return
        }
        let effects = core.apply(.ingest(events, known: known), now: configuration.clock())
        guard case .receipts(let receipts) = effects.reply else {
            preconditionFailure("ingest answers with receipts")
        }
        let stored = effects.writes.reduce(0) { if case .putEvent = $1 { $0 + 1 } else { $0 } }
        perform(effects) { result in
            switch result {
            case .success:
                self.metrics.eventsAccepted.increment(by: Int64(stored))
                completion(.success(receipts))
            case .failure(let error):
                completion(
                    .failure(
                        TetherError(
                            .storageUnavailable, "the events could not be stored (\(error.code)); the coordinator's log has the details",
                            cause: error)))
            }
        }
    }

    /// Ids among `ids` already accepted recently (in memory).
    func recentEvents(_ ids: [String]) -> [String: [String]] {
        let now = configuration.clock()
        var found: [String: [String]] = [:]
        for id in ids {
            if let runs = core.recentEventRuns(id, now: now) { found[id] = runs }
        }
        return found
    }

    /// Cancels an active run; `completion` gets the cancelled run once durable, or nil when
    /// the run is not active (the caller looks in the store).
    func cancel(runId: String, completion: @escaping (Result<RunRecord?, TetherError>) -> Void) {
        loop.preconditionInEventLoop()
        if let error = storageUnavailable {
            completion(.failure(error))
            return
        }
        let effects = core.apply(.cancel(runId: runId), now: configuration.clock())
        guard case .cancelled(let run) = effects.reply else {
            completion(.success(nil))
            return
        }
        perform(effects) { result in
            completion(
                result.map { run }.mapError {
                    TetherError(
                        .storageUnavailable, "the cancellation could not be stored (\($0.code)); the coordinator's log has the details",
                        cause: $0)
                })
        }
    }

    // MARK: Reading

    func status() -> SchedulerStatus {
        loop.preconditionInEventLoop()
        return core.status(now: configuration.clock())
    }

    /// The in-memory state of an active run (fresher than the store), if it is active.
    func activeRun(id: String) -> RunRecord? {
        core.runs[id]
    }

    func functionDefinitions() -> [(FunctionDefinition, Set<String>)] {
        core.functionDefinitions.map { ($0, core.connections(ofFunction: $0.id)) }
    }

    func instanceId(ofConnection id: String) -> String? {
        core.workers[id]?.registration.instanceId
    }

    // MARK: Effects

    private func tick() {
        let now = configuration.clock()
        let effects = core.apply(.tick, now: now)
        metrics.recordLeaseExpiries(effects.expiredLeases)
        perform(effects)
        workerHistory.sampleIfDue(core.workers.values, now: now)
    }

    /// Carries out `effects`: writes first, then (once they and all earlier writes are
    /// durable) messages and closes.
    func perform(_ effects: Effects, onCommitted: ((Result<Void, StoreError>) -> Void)? = nil) {
        if !effects.writes.isEmpty {
            submittedWrites += 1
            let sequence = submittedWrites
            pending.append(PendingEffects(sequence: sequence, effects: effects, onCommitted: onCommitted))
            store.commit(effects.writes) { result in
                self.loop.execute { self.writesCommitted(sequence: sequence, result: result) }
            }
        } else if committedWrites == submittedWrites {
            deliver(effects)
            onCommitted?(.success(()))
        } else {
            pending.append(PendingEffects(sequence: submittedWrites, effects: effects, onCommitted: onCommitted))
        }
        armRetryTimer()
    }

    private func writesCommitted(sequence: UInt64, result: Result<Void, StoreError>) {
        committedWrites = sequence
        if case .failure(let error) = result, storageFailure == nil {
            enterStorageFailure(error)
        }
        while let head = pending.first, head.sequence <= sequence {
            pending.removeFirst()
            if let storageFailure {
                head.onCommitted?(.failure(storageFailure))
            } else {
                deliver(head.effects)
                head.onCommitted?(.success(()))
            }
        }
    }

    private func deliver(_ effects: Effects) {
        metrics.observe(effects, leaseDurationMilliseconds: Int64(configuration.timing.leaseDurationMilliseconds))
        if effects.messages.count == 1, let message = effects.messages.first {
            connections[message.connectionId]?.send([frame(for: message)])
        } else if !effects.messages.isEmpty {
            var byConnection: [String: [Tether_V1_Frame]] = [:]
            for message in effects.messages {
                byConnection[message.connectionId, default: []].append(frame(for: message))
            }
            for (connectionId, frames) in byConnection {
                connections[connectionId]?.send(frames)
            }
        }
        for close in effects.closes {
            connections.removeValue(forKey: close.connectionId)?.close(
                after: .error(code: close.code, message: close.message))
        }
    }

    private func frame(for message: OutboundMessage) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        switch message {
        case .dispatch(let dispatch):
            frame.stepRequest = Tether_V1_StepRequest(dispatch)
        case .resultAck(_, let requestId, let accepted):
            frame.stepResultAck = .with {
                $0.requestID = requestId
                $0.accepted = accepted
            }
        }
        return frame
    }

    /// A write failed (disk full, I/O error): acknowledged state is safe, but memory is ahead
    /// of the store. Stop taking work and tell workers to come back later; a restart rebuilds
    /// from what is durable.
    private func enterStorageFailure(_ error: StoreError) {
        storageFailure = error
        logger.critical(
            "store write failed; the coordinator stops accepting work until restarted",
            metadata: ["error": "\(error)", "data": "\(configuration.dataDirectory)"])
        for connection in connections.values {
            connection.close(after: .error(code: .storageUnavailable, message: "coordinator store failure: \(error.code)"))
            // Forget the worker now; nothing it sends could be stored anyway.
            _ = core.apply(.disconnect(connectionId: connection.id), now: configuration.clock())
        }
        connections.removeAll()
    }

    /// The error for work refused after a store failure, or nil while the store is healthy.
    private var storageUnavailable: TetherError? {
        storageFailure.map {
            TetherError(
                .storageUnavailable, "the coordinator cannot write to its store (\($0.code)); its log has the details", cause: $0)
        }
    }

    private func armRetryTimer() {
        guard let due = core.nextTimerDeadline, due < retryTimerDeadline else { return }
        retryTimer?.cancel()
        retryTimerDeadline = due
        let delay = max(0, due - configuration.clock())
        retryTimer = loop.scheduleTask(in: .milliseconds(delay)) {
            self.retryTimerDeadline = .max
            self.tick()
        }
    }
}

/// Wall-clock time in Unix milliseconds.
enum WallClock {
    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }
}
