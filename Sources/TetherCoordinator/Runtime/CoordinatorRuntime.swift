import DequeModule
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TetherEngine
import TetherProtocol
import TetherStore

/// Owns the scheduler (``CoordinatorCore``) and carries out its effects.
///
/// The scheduler's state is confined to ``loop``, a one-thread event loop of its own (no worker
/// connection or HTTP request runs on it), so commands apply one at a time without locks. Every
/// method marked "on `loop`" checks that it runs there. Writes go to the group-commit writer;
/// the messages of a command go out only after its writes (and every earlier write) are
/// durable, so no worker ever sees state the store could lose.
///
/// Readers outside the loop (`/v1/status`, its stream, `/metrics`, `/readyz`) never walk the
/// scheduler's state themselves: they read ``snapshot()``, built at most once per
/// ``snapshotInterval`` however many read it, and ``health``, kept current by the loop.
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
    /// Key and value bytes handed to the store and not yet durable (see ``Limits/maxUncommittedWriteBytes``).
    private var uncommittedBytes = 0
    /// `POST /v1/events` requests in progress (any thread; see ``Limits/maxPendingEventRequests``).
    private let eventRequests = Atomic<Int>(0)
    private var pending: Deque<PendingEffects> = []
    private var storageFailure: StoreError?
    private var periodicTick: RepeatedTask?
    private var retryTimer: Scheduled<Void>?
    private var retryTimerDeadline: Int64 = .max
    private var draining = false
    /// Capacity and in-flight samples per worker instance (`GET /v1/workers`).
    private var workerHistory: WorkerHistory
    /// What readers on other threads see; written on `loop` (the drain flag also by ``requestDrain()``).
    private let shared = Mutex(Shared())
    /// At most one log line per second about refused results: a hostile client cannot flood the log.
    private var refusedResultLog = RateLimitedLog(intervalMilliseconds: 1_000)
    /// Spans of runs and dispatches, when tracing is on.
    private let tracing: RunTracing?

    /// The state readers on other threads may see, behind one lock.
    private struct Shared {
        var health = Health()
        var snapshot: StatusSnapshot?
    }

    /// Whether the coordinator takes work: read by `/readyz`, `/v1/status` and the status stream.
    struct Health: Sendable, Equatable {
        /// The store write that failed, after which nothing more is accepted.
        var storageFailure: StoreError?
        /// Workers were told to go (shutdown or drain).
        var draining = false
        /// A drain was asked for over HTTP and is about to start (the 202 leaves first); a second
        /// request in that window gets 409 like one after it started.
        var drainRequested = false

        /// Not ready from the moment a drain is asked for, not only once it runs.
        var isDrainingOrRequested: Bool { draining || drainRequested }
    }

    /// The scheduler as `/v1/status`, `/v1/workers` and `/metrics` show it, built on `loop` at
    /// one moment.
    struct StatusSnapshot: Sendable {
        var status: SchedulerStatus
        /// The apps of every function ever registered (`/metrics` labels them even with no worker).
        var functionApps: Set<String>
        var workerHistory: WorkerHistory
        /// Dispatch is held and events refused until the store catches up.
        var dispatchHeld: Bool
        /// Bytes of changes handed to the store and not yet durable.
        var uncommittedBytes: Int
        /// When it was built (monotonic), to decide whether it is fresh enough.
        var builtAt: NIODeadline
    }

    /// How old a status snapshot may be before a reader asks for a new one: the scheduler builds
    /// at most one per interval, however many scrapes, status calls and streams read it.
    static let snapshotInterval = TimeAmount.milliseconds(250)

    private struct PendingEffects {
        var sequence: UInt64
        /// Bytes this entry queued in the store (0 for one that waits for earlier writes only).
        var bytes = 0
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
        self.tracing = configuration.tracer.map(RunTracing.init)
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
            self.shared.withLock { $0.health.draining = true }
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
            self.tracing?.endAll(now: self.configuration.clock())
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
        if let tracing, !effects.refusedResults.contains(where: { $0.requestId == requestId }) {
            tracing.noteResult(requestId: requestId, outcome: outcome)
        }
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
        if core.dispatchHeld {
            metrics.recordOverloaded(.uncommittedWrites)
            completion(
                .failure(
                    TetherError(
                        .overloaded,
                        "the store is behind (\(uncommittedBytes) bytes of changes not yet durable); send again after a moment")))
            return
        }
        let effects = core.apply(.ingest(events, known: known), now: configuration.clock())
        if case .rejected(let error) = effects.reply {
            metrics.recordOverloaded(.activeRuns)
            completion(.failure(error))
            return
        }
        guard case .receipts(let receipts) = effects.reply else {
            preconditionFailure("ingest answers with receipts or a refusal")
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

    /// Counts a `POST /v1/events` request in for as long as `body` runs (any thread), or refuses
    /// it with `overloaded` at once when ``Limits/maxPendingEventRequests`` are in progress.
    func admitEventRequest<T>(_ body: () async throws -> T) async throws -> T {
        let limit = configuration.limits.maxPendingEventRequests
        let inProgress = eventRequests.wrappingAdd(1, ordering: .relaxed).newValue
        defer { eventRequests.wrappingSubtract(1, ordering: .relaxed) }
        guard inProgress <= limit else {
            metrics.recordOverloaded(.pendingRequests)
            throw TetherError(.overloaded, "\(limit) event requests are in progress, the coordinator's limit; send again after a moment")
        }
        return try await body()
    }

    /// Ids among `ids` already accepted recently (in memory). On `loop`.
    func recentEvents(_ ids: [String]) -> [String: [String]] {
        loop.preconditionInEventLoop()
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

    /// Whether the coordinator takes work (any thread).
    var health: Health { shared.withLock { $0.health } }

    /// Marks a drain as asked for (any thread); false when one already was, or one runs.
    func requestDrain() -> Bool {
        shared.withLock { shared in
            guard !shared.health.isDrainingOrRequested else { return false }
            shared.health.drainRequested = true
            return true
        }
    }

    /// The scheduler's status, at most ``snapshotInterval`` old (any thread). The scheduler builds
    /// a new one only when the last is older than that, so any number of readers cost it at most
    /// one status walk per interval.
    func snapshot() async throws -> StatusSnapshot {
        if let current = publishedSnapshot(at: .now()) { return current }
        return try await loop.submit { self.freshSnapshot() }.get()
    }

    /// The published snapshot, if it is younger than ``snapshotInterval`` at `now`.
    private func publishedSnapshot(at now: NIODeadline) -> StatusSnapshot? {
        shared.withLock { $0.snapshot }.flatMap { now - $0.builtAt < Self.snapshotInterval ? $0 : nil }
    }

    /// The published snapshot if fresh (another reader may have asked first), else a new one. On `loop`.
    private func freshSnapshot() -> StatusSnapshot {
        loop.preconditionInEventLoop()
        let now = NIODeadline.now()
        if let current = publishedSnapshot(at: now) { return current }
        var status = core.status(now: configuration.clock())
        for index in status.workers.indices {
            guard let at = connections[status.workers[index].connectionId]?.lastHeartbeat.load(ordering: .relaxed) else { continue }
            status.workers[index].lastHeartbeatAtMilliseconds = max(status.workers[index].lastHeartbeatAtMilliseconds, at)
        }
        let snapshot = StatusSnapshot(
            status: status, functionApps: Set(core.functionDefinitions.map(\.app)),
            workerHistory: workerHistory, dispatchHeld: core.dispatchHeld, uncommittedBytes: uncommittedBytes, builtAt: now)
        shared.withLock { $0.snapshot = snapshot }
        metrics.statusSnapshots.increment()
        return snapshot
    }

    /// The in-memory state of an active run (fresher than the store), if it is active. On `loop`.
    func activeRun(id: String) -> RunRecord? {
        loop.preconditionInEventLoop()
        return core.runs[id]
    }

    /// Every function ever registered, with the connections serving it now. On `loop`.
    func functionDefinitions() -> [(FunctionDefinition, Set<String>)] {
        loop.preconditionInEventLoop()
        return core.functionDefinitions.map { ($0, core.connections(ofFunction: $0.id)) }
    }

    /// The worker instance behind a connection. On `loop`.
    func instanceId(ofConnection id: String) -> String? {
        loop.preconditionInEventLoop()
        return core.workers[id]?.registration.instanceId
    }

    // MARK: Effects

    private func tick() {
        let now = configuration.clock()
        refreshLiveness(now: now)
        let effects = core.apply(.tick, now: now)
        metrics.recordLeaseExpiries(effects.expiredLeases)
        perform(effects)
        workerHistory.sampleIfDue(core.workers.values, now: now)
    }

    /// Tells the scheduler about connections it would take as silent but that had heartbeats
    /// their connection answered itself (an idle worker's, see ``WorkerConnection/lastHeartbeat``).
    private func refreshLiveness(now: Int64) {
        var heard: [String: Int64] = [:]
        for connectionId in core.silentConnections(now: now) {
            guard let at = connections[connectionId]?.lastHeartbeat.load(ordering: .relaxed), at > 0 else { continue }
            heard[connectionId] = at
        }
        if !heard.isEmpty { _ = core.apply(.alive(heard), now: now) }
    }

    /// Carries out `effects`: writes first, then (once they and all earlier writes are
    /// durable) messages and closes.
    func perform(_ effects: Effects, onCommitted: ((Result<Void, StoreError>) -> Void)? = nil) {
        if !effects.writes.isEmpty {
            submittedWrites += 1
            let sequence = submittedWrites
            pending.append(PendingEffects(sequence: sequence, effects: effects, onCommitted: onCommitted))
            let bytes = store.commit(effects.writes) { result in
                self.loop.execute { self.writesCommitted(sequence: sequence, result: result) }
            }
            pending[pending.count - 1].bytes = bytes
            uncommittedBytes += bytes
            if !core.dispatchHeld && uncommittedBytes > configuration.limits.maxUncommittedWriteBytes {
                holdDispatch(true)
            }
        } else if committedWrites == submittedWrites {
            deliver(effects)
            onCommitted?(.success(()))
        } else {
            pending.append(PendingEffects(sequence: submittedWrites, effects: effects, onCommitted: onCommitted))
        }
        armRetryTimer()
    }

    /// Commits a retention sweep's deletions in order with the scheduler's own writes (so a
    /// failed one stops the coordinator like any failed write); `completion` runs on `loop` once
    /// they are durable. On `loop`.
    func commitMaintenance(_ batch: WriteBatch, completion: @escaping (Result<Void, StoreError>) -> Void) {
        loop.preconditionInEventLoop()
        if let storageFailure {
            completion(.failure(storageFailure))
            return
        }
        guard !batch.isEmpty else {
            completion(.success(()))
            return
        }
        submittedWrites += 1
        let sequence = submittedWrites
        pending.append(PendingEffects(sequence: sequence, bytes: batch.byteCount, effects: Effects(), onCommitted: completion))
        uncommittedBytes += batch.byteCount
        store.writer.submit(batch) { result in
            self.loop.execute { self.writesCommitted(sequence: sequence, result: result) }
        }
    }

    /// The ids among `candidates` of events a live run, batch or debounce still needs. On `loop`.
    func eventsInUse(among candidates: Set<String>) -> Set<String> {
        loop.preconditionInEventLoop()
        return core.eventsInUse(among: candidates)
    }

    private func writesCommitted(sequence: UInt64, result: Result<Void, StoreError>) {
        committedWrites = sequence
        if case .failure(let error) = result, storageFailure == nil {
            enterStorageFailure(error)
        }
        while let head = pending.first, head.sequence <= sequence {
            pending.removeFirst()
            uncommittedBytes -= head.bytes
            if let storageFailure {
                head.onCommitted?(.failure(storageFailure))
            } else {
                deliver(head.effects)
                head.onCommitted?(.success(()))
            }
        }
        if core.dispatchHeld && uncommittedBytes <= configuration.limits.maxUncommittedWriteBytes / 2 {
            holdDispatch(false)
        }
    }

    /// Holds dispatch while the store is behind (more than ``Limits/maxUncommittedWriteBytes``
    /// not yet durable), and lets it go once half of that is durable: workers finish what they
    /// hold and get nothing new meanwhile, and events are answered `429 overloaded`.
    private func holdDispatch(_ held: Bool) {
        logger.warning(
            held ? "store is behind: dispatch held, events refused" : "store caught up: dispatch resumed",
            metadata: ["uncommittedBytes": "\(uncommittedBytes)"])
        perform(core.apply(.holdDispatch(held), now: configuration.clock()))
    }

    /// Hands each connection its messages; the frames (a step request carries the run's event
    /// and every memoized output: up to tens of MiB) are built on the connection's own loop.
    private func deliver(_ effects: Effects) {
        var effects = effects
        tracing?.observe(&effects, now: configuration.clock())
        metrics.observe(effects, leaseDurationMilliseconds: Int64(configuration.timing.leaseDurationMilliseconds))
        if effects.messages.count == 1, let message = effects.messages.first {
            connections[message.connectionId]?.send([message])
        } else if !effects.messages.isEmpty {
            var byConnection: [String: [OutboundMessage]] = [:]
            for message in effects.messages {
                byConnection[message.connectionId, default: []].append(message)
            }
            for (connectionId, messages) in byConnection {
                connections[connectionId]?.send(messages)
            }
        }
        for close in effects.closes {
            connections.removeValue(forKey: close.connectionId)?.close(
                after: .error(code: close.code, message: close.message))
        }
    }

    /// A write failed (disk full, I/O error): acknowledged state is safe, but memory is ahead
    /// of the store. Stop taking work and tell workers to come back later; a restart rebuilds
    /// from what is durable. A cluster's leader whose journal failed (PostgreSQL restarting,
    /// say) needs no restart: its node steps down and leads or follows again once the journal
    /// answers.
    private func enterStorageFailure(_ error: StoreError) {
        storageFailure = error
        shared.withLock { $0.health.storageFailure = error }
        // A leader's failed local write may follow a journal append that committed: its store is
        // no longer a prefix of the journal, and a leader that takes no work must not keep the
        // lease. Fencing the term makes its node step down (and read the journal back).
        configuration.leaderTerm?.appender.fence("this node's store failed (\(error.code.rawValue))")
        if configuration.leaderTerm != nil, error.code == .journalUnavailable || error.code == .fenced {
            logger.error(
                "journal append failed; this leader acknowledges nothing more and steps down",
                metadata: ["error": "\(error)"])
        } else {
            logger.critical(
                "store write failed; the coordinator stops accepting work until restarted",
                metadata: ["error": "\(error)", "data": "\(configuration.dataDirectory)"])
        }
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
