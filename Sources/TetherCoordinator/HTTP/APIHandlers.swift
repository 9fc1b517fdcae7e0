import Foundation
import NIOCore
import NIOPosix
import OpenAPIRuntime
import TetherAPI
import TetherCluster
import TetherEngine
import TetherStore
import TetherTelemetry
import Tracing

/// The `/v1` operations of `openapi.yaml`, implementing the protocol swift-openapi-generator
/// made from it. Errors are thrown as ``APIError`` and rendered by `APIErrorMiddleware`, so
/// every error answer has the same body whichever layer refused the request.
struct APIHandlers: APIProtocol {
    let runtime: CoordinatorRuntime
    let store: CoordinatorStore
    let threadPool: NIOThreadPool
    let configuration: CoordinatorConfiguration
    let limiter: HandshakeLimiter
    /// Starts a drain: workers are told to reconnect within the given window, then the coordinator stops.
    let requestDrain: @Sendable (UInt32) -> Void

    typealias Schemas = Components.Schemas

    // MARK: Events

    /// `POST /v1/events`. The events were parsed from the raw body by ``EventBodyMiddleware``
    /// (duplicate keys refused, integers exact, every rule of docs/api.md checked with its own
    /// message); `input.body` is only a placeholder and is not read.
    func sendEvents(_ input: Operations.sendEvents.Input) async throws -> Operations.sendEvents.Output {
        guard let events = EventBodyMiddleware.parsedEvents else {
            throw APIError(.internalServerError, ._internal, "the event body was not parsed")
        }
        // Ids sent before: first the recent ones in memory, then the store (outside the loop).
        let withIds = events.compactMap(\.id)
        var known: [String: KnownEvent] = [:]
        if !withIds.isEmpty {
            let runtime = self.runtime
            let recent = try await runtime.loop.submit { runtime.recentEvents(withIds) }.get()
            let unknown = withIds.filter { recent[$0] == nil }
            let store = self.store
            known = try await threadPool.runIfActive {
                var found: [String: KnownEvent] = [:]
                for id in unknown {
                    if let known = try store.knownEvent(id: id) { found[id] = known }
                }
                return found
            }
        }
        let runtime = self.runtime
        let storedEvents = known
        let ingest = { @Sendable (events: [IncomingEvent]) async throws -> [EventReceipt] in
            try await withCheckedThrowingContinuation { continuation in
                runtime.loop.execute {
                    runtime.ingest(events, known: storedEvents) { result in
                        continuation.resume(with: result.mapError { APIError($0) })
                    }
                }
            }
        }
        let receipts: [EventReceipt]
        if let tracing = configuration.tracer {
            receipts = try await Self.traced(events, tracing: tracing, ingest: ingest)
        } else {
            receipts = try await ingest(events)
        }
        return .ok(.init(body: .json(.init(events: receipts.map(APIRendering.receipt)))))
    }

    /// Ingests `events` in a `tether.events` span, a child of the request's `traceparent` when it
    /// has one; each event carries the span's context, so the runs it starts join its trace.
    private static func traced(
        _ events: [IncomingEvent], tracing: TetherTracing,
        ingest: @Sendable ([IncomingEvent]) async throws -> [EventReceipt]
    ) async throws -> [EventReceipt] {
        let span = tracing.tracer.startSpan(
            "tether.events", context: tracing.context(traceParent: EventBodyMiddleware.traceParent), ofKind: .server)
        defer { span.end() }
        span.attributes["tether.events.count"] = events.count
        span.attributes["tether.event.name"] = events.first?.name ?? ""
        let traceParent = tracing.traceParent(of: span.context)
        do {
            let receipts = try await ingest(events.map { event in
                var event = event
                event.traceParent = traceParent
                return event
            })
            span.attributes["tether.runs.started"] = receipts.reduce(0) { $0 + $1.runIds.count }
            return receipts
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: String(describing: error)))
            throw error
        }
    }

    // MARK: Runs

    func listRuns(_ input: Operations.listRuns.Input) async throws -> Operations.listRuns.Output {
        let query = input.query
        let status = query.status.flatMap { RunStatus(rawValue: $0.rawValue) }
        let limit = query.limit ?? 50
        guard (1...1_000).contains(limit) else {
            throw APIError(.badRequest, .invalid_input, "limit must be an integer between 1 and 1000")
        }
        if let cursor = query.cursor, !IDGenerator.isValid(cursor) {
            throw APIError(.badRequest, .invalid_input, "cursor must be the 'next' value of an earlier page (a run id)")
        }
        let store = self.store
        // A dispatched run is `running` in memory but still `queued` in the store until its
        // first result: filter those two on the live status.
        let liveStatuses: Set<RunStatus> = [.queued, .running]
        let storedStatuses: Set<RunStatus>? = status.map { liveStatuses.contains($0) ? liveStatuses : [$0] }
        let function = query.function
        let cursor = query.cursor
        let page = try await threadPool.runIfActive {
            try store.listRuns(functionId: function, statuses: storedStatuses, limit: limit, cursor: cursor)
        }
        let runtime = self.runtime
        let ids = page.runs.map { $0.id }
        let live: [RunRecord] = try await runtime.loop.submit { ids.compactMap { runtime.activeRun(id: $0) } }.get()
        var liveById: [String: RunRecord] = [:]
        for run in live { liveById[run.id] = run }
        let runs = page.runs.compactMap { stored -> Schemas.RunSummary? in
            var run = stored
            if let current = liveById[stored.id] {
                run.status = current.status
                run.startedAtMilliseconds = current.startedAtMilliseconds
            }
            if let status, run.status != status { return nil }
            return APIRendering.runSummary(run)
        }
        return .ok(.init(body: .json(.init(next: Nullable(page.next), runs: runs))))
    }

    func getRun(_ input: Operations.getRun.Input) async throws -> Operations.getRun.Output {
        let id = input.path.id
        let runtime = self.runtime
        if let live = try await runtime.loop.submit({ runtime.activeRun(id: id) }).get() {
            return .ok(.init(body: .json(APIRendering.run(live))))
        }
        return .ok(.init(body: .json(APIRendering.run(try await storedRun(id)))))
    }

    /// A run from the store, or `404 not_found`.
    func storedRun(_ id: String) async throws -> RunRecord {
        let store = self.store
        guard let run = try await threadPool.runIfActive({ try store.run(id: id) }) else {
            throw APIError(.notFound, .not_found, "no run with id '\(id)'")
        }
        return run
    }

    func cancelRun(_ input: Operations.cancelRun.Input) async throws -> Operations.cancelRun.Output {
        let id = input.path.id
        let runtime = self.runtime
        let cancelled: RunRecord? = try await withCheckedThrowingContinuation { continuation in
            runtime.loop.execute {
                runtime.cancel(runId: id) { result in continuation.resume(with: result.mapError { APIError($0) }) }
            }
        }
        if let cancelled {
            return .ok(.init(body: .json(APIRendering.run(cancelled))))
        }
        let run = try await storedRun(id)
        throw APIError(.conflict, .conflict, "run '\(id)' already ended as \(run.status.rawValue); only active runs can be cancelled")
    }

    // MARK: Functions, status and workers

    func listFunctions(_ input: Operations.listFunctions.Input) async throws -> Operations.listFunctions.Output {
        let runtime = self.runtime
        let entries = try await runtime.loop.submit { () -> [(FunctionDefinition, [(String, String)])] in
            runtime.functionDefinitions().map { definition, connections in
                (definition, connections.sorted().map { ($0, runtime.instanceId(ofConnection: $0) ?? "") })
            }
        }.get()
        let functions = entries.map { definition, workers in
            APIRendering.function(definition, workers: workers.map { (connectionId: $0.0, instanceId: $0.1) })
        }
        return .ok(.init(body: .json(.init(functions: functions))))
    }

    func getStatus(_ input: Operations.getStatus.Input) async throws -> Operations.getStatus.Output {
        .ok(.init(body: .json(try await statusDocument())))
    }

    /// The `GET /v1/status` document, also what `/v1/status/stream` sends.
    func statusDocument() async throws -> Schemas.Status {
        statusDocument(of: try await runtime.snapshot())
    }

    /// The `GET /v1/status` document of one snapshot, with the health and handshakes of now.
    func statusDocument(of current: CoordinatorRuntime.StatusSnapshot) -> Schemas.Status {
        let snapshot = current.status
        let failure = runtime.health.storageFailure
        let available = snapshot.workers.reduce(0) { $0 + ($1.status == "ready" ? max(0, $1.capacity - $1.inFlight) : 0) }
        return Schemas.Status(
            capacity: .init(available: available, inFlight: snapshot.inFlight, total: snapshot.capacityTotal),
            coordinator: .init(
                activeRuns: snapshot.activeRuns,
                durability: .init(rawValue: configuration.durability.rawValue) ?? .strict, healthy: failure == nil,
                startedAt: APIRendering.date(runtime.startedAtMilliseconds), version: configuration.version),
            functions: snapshot.functions.map(APIRendering.functionStatus),
            handshakes: APIRendering.handshakes(limiter),
            queue: .init(depth: snapshot.queueDepth, oldestAgeMs: Int(snapshot.oldestQueuedAgeMilliseconds)),
            workers: snapshot.workers.map(APIRendering.worker))
    }

    /// `GET /v1/workers`: every connected worker as in `/v1/status`, plus the functions it registered
    /// and its recent capacity and in-flight samples (oldest first).
    func listWorkers(_ input: Operations.listWorkers.Input) async throws -> Operations.listWorkers.Output {
        let current = try await runtime.snapshot()
        let (snapshot, history) = (current.status, current.workerHistory)
        let workers = snapshot.workers.map { APIRendering.workerDetail($0, history: history.history(of: $0.instanceId)) }
        return .ok(.init(body: .json(.init(sampleIntervalMs: Int(history.intervalMilliseconds), workers: workers))))
    }

    // MARK: Admin

    /// `POST /v1/admin/drain`, body optional `{"reconnectWithinMs": 100…600000}` (default 5,000):
    /// stop accepting workers, tell each connected worker to reconnect at a random moment within the
    /// window, and stop, as on SIGTERM. Answers 202 before it starts.
    func drain(_ input: Operations.drain.Input) async throws -> Operations.drain.Output {
        var window = configuration.reconnectWindowMilliseconds
        if case .json(let body)? = input.body, let milliseconds = body.reconnectWithinMs {
            guard (100...600_000).contains(milliseconds) else {
                throw APIError(.badRequest, .invalid_input, "reconnectWithinMs must be an integer between 100 and 600000")
            }
            window = UInt32(milliseconds)
        }
        guard runtime.requestDrain() else {
            throw APIError(.conflict, .draining, "the coordinator is already draining")
        }
        // Give this response time to leave before the HTTP server stops.
        let requestDrain = self.requestDrain
        let reconnectWindow = window
        _ = runtime.loop.scheduleTask(in: .milliseconds(100)) { requestDrain(reconnectWindow) }
        return .accepted(.init(body: .json(.init(reconnectWithinMs: Int(window), status: .draining))))
    }
}

extension APIHandlers {
    /// `GET /v1/cluster`: this node's role, the leader it knows of and its journal progress; a
    /// single node (no journal) answers role `single` with itself as leader.
    func getCluster(_ input: Operations.getCluster.Input) async throws -> Operations.getCluster.Output {
        let view: ClusterView
        if let term = configuration.leaderTerm {
            view = term.state.view()
        } else {
            view = ClusterView(
                role: .single, nodeId: configuration.nodeId, epoch: 0,
                leader: .init(nodeId: configuration.nodeId, http: "", worker: ""), journal: nil)
        }
        return .ok(.init(body: .json(APIRendering.cluster(view))))
    }
}

extension APIRendering {
    static func cluster(_ view: ClusterView) -> Components.Schemas.Cluster {
        Components.Schemas.Cluster(
            role: .init(rawValue: view.role.rawValue) ?? .single, nodeId: view.nodeId, epoch: Int64(view.epoch),
            leader: Nullable(view.leader.map { .init(nodeId: $0.nodeId, http: $0.http, worker: $0.worker) }),
            journal: Nullable(
                view.journal.map {
                    .init(
                        lastSeq: Int64($0.lastSequence), appliedSeq: Int64($0.appliedSequence),
                        lagMs: max(0, $0.lagMilliseconds))
                }))
    }
}
