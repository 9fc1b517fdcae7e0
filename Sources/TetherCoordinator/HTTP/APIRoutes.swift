import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import TetherEngine
import TetherStore

/// The HTTP API v1 (docs/api.md): events, runs, functions, status, health, and `/openapi.json`
/// (``OpenAPIDocument``, which must describe every route registered here).
struct APIRoutes: Sendable {
    let runtime: CoordinatorRuntime
    let store: CoordinatorStore
    let threadPool: NIOThreadPool
    let configuration: CoordinatorConfiguration
    let limiter: HandshakeLimiter
    /// Starts a drain: workers are told to reconnect within the given window, then the coordinator stops.
    let requestDrain: @Sendable (UInt32) -> Void

    func register(on router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in JSONResponse.make(["status": "ok"]) }
        router.get("/readyz") { _, _ in try await ready() }
        router.get("/", use: { _, _ in Dashboard.response() })
        let openAPI = OpenAPIDocument.make(configuration)
        router.get("/openapi.json") { _, _ in JSONResponse.make(openAPI) }

        let v1 = router.group("/v1")
        if !configuration.apiKeys.isEmpty {
            v1.add(middleware: BearerAuthMiddleware(keys: Set(configuration.apiKeys)))
        }
        v1.post("/events") { request, _ in try await postEvents(request) }
        v1.get("/runs") { request, _ in try await listRuns(request) }
        v1.get("/runs/:id") { _, context in try await getRun(try context.parameters.require("id")) }
        v1.post("/runs/:id/cancel") { _, context in try await cancelRun(try context.parameters.require("id")) }
        v1.get("/functions") { _, _ in try await functions() }
        v1.get("/status") { _, _ in try await status() }
        v1.get("/status/stream") { _, _ in statusStream() }
        v1.get("/workers") { _, _ in try await workers() }
        v1.post("/admin/drain") { request, _ in try await drain(request) }
    }

    // MARK: Admin

    /// `POST /v1/admin/drain`, body optional `{"reconnectWithinMs": 100…600000}` (default 5,000):
    /// stop accepting workers, tell each connected worker to reconnect at a random moment within the
    /// window, and stop, as on SIGTERM. Answers 202 before it starts.
    func drain(_ request: Request) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maxDrainBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(
                .contentTooLarge, .payloadTooLarge, "the request body is over the limit of \(Self.maxDrainBodyBytes) bytes")
        }
        var window = Coordinator.defaultReconnectWindowMilliseconds
        if body.readableBytes > 0 {
            guard case .object(let object)? = try? JSONValue(parsing: Array(buffer: body)) else {
                throw APIError(.badRequest, .invalidJSON, "the body must be a JSON object such as {\"reconnectWithinMs\": 5000}")
            }
            if let value = object["reconnectWithinMs"] {
                guard case .int(let milliseconds) = value, (100...600_000).contains(milliseconds) else {
                    throw APIError(.badRequest, .invalidInput, "reconnectWithinMs must be an integer between 100 and 600000")
                }
                window = UInt32(milliseconds)
            }
        }
        let runtime = self.runtime
        let alreadyDraining = try await runtime.loop.submit { () -> Bool in
            if runtime.draining || runtime.drainRequested { return true }
            runtime.drainRequested = true
            return false
        }.get()
        guard !alreadyDraining else {
            throw APIError(.conflict, .draining, "the coordinator is already draining")
        }
        // Give this response time to leave before the HTTP server stops.
        let requestDrain = self.requestDrain
        let reconnectWindow = window
        runtime.loop.scheduleTask(in: .milliseconds(100)) { requestDrain(reconnectWindow) }
        return JSONResponse.make(["status": "draining", "reconnectWithinMs": .int(Int64(window))], status: .accepted)
    }

    /// The largest body `POST /v1/admin/drain` reads.
    static let maxDrainBodyBytes = 4_096

    // MARK: Events

    func postEvents(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: configuration.limits.maxRequestBodyBytes)
        let events = try EventParsing.parse(body, limits: configuration.limits)
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
                    if let stored = try store.event(id: id) {
                        found[id] = KnownEvent(runIds: stored.runIds, receivedAtMilliseconds: stored.receivedAtMilliseconds)
                    }
                }
                return found
            }
        }
        let runtime = self.runtime
        let storedEvents = known
        let receipts: [EventReceipt] = try await withCheckedThrowingContinuation { continuation in
            runtime.loop.execute {
                runtime.ingest(events, known: storedEvents) { result in
                    continuation.resume(with: result.mapError { APIError($0) })
                }
            }
        }
        return JSONResponse.make(["events": .array(receipts.map(APIRendering.receipt))])
    }

    // MARK: Runs

    func listRuns(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        // A parameter that is present must have a value: `limit=` or `status=` is refused, not
        // taken as "no filter".
        for name in ["function", "status", "limit", "cursor"] where query.get(name)?.isEmpty == true {
            throw APIError(.badRequest, .invalidInput, "query parameter '\(name)' is empty; leave it out instead")
        }
        let function = query.get("function").map { String($0) }
        var status: RunStatus?
        if let text = query.get("status") {
            guard let parsed = RunStatus(rawValue: String(text)) else {
                throw APIError(
                    .badRequest, .invalidInput,
                    "unknown status '\(text)'; expected one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = parsed
        }
        var limit = 50
        if let text = query.get("limit") {
            // Digits only: `Int` would also take a sign (`+5`).
            guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let parsed = Int(text),
                (1...1_000).contains(parsed)
            else {
                throw APIError(.badRequest, .invalidInput, "limit must be an integer between 1 and 1000")
            }
            limit = parsed
        }
        let cursor = query.get("cursor").map { String($0) }
        if let cursor, !IDGenerator.isValid(cursor) {
            throw APIError(.badRequest, .invalidInput, "cursor must be the 'next' value of an earlier page (a run id)")
        }
        let store = self.store
        // A dispatched run is `running` in memory but still `queued` in the store until its
        // first result: filter those two on the live status.
        let liveStatuses: Set<RunStatus> = [.queued, .running]
        let storedStatuses: Set<RunStatus>? = status.map { liveStatuses.contains($0) ? liveStatuses : [$0] }
        let pageSize = limit
        let page = try await threadPool.runIfActive {
            try store.listRuns(functionId: function, statuses: storedStatuses, limit: pageSize, cursor: cursor)
        }
        let runtime = self.runtime
        let ids = page.runs.map { $0.id }
        let live: [RunRecord] = try await runtime.loop.submit { ids.compactMap { runtime.activeRun(id: $0) } }.get()
        var liveById: [String: RunRecord] = [:]
        for run in live { liveById[run.id] = run }
        let runs = page.runs.compactMap { stored -> JSONValue? in
            var run = stored
            if let current = liveById[stored.id] {
                run.status = current.status
                run.startedAtMilliseconds = current.startedAtMilliseconds
            }
            if let status, run.status != status { return nil }
            return APIRendering.runSummary(run)
        }
        return JSONResponse.make(["runs": .array(runs), "next": page.next.map(JSONValue.string) ?? .null])
    }

    func getRun(_ id: String) async throws -> Response {
        let runtime = self.runtime
        if let live = try await runtime.loop.submit({ runtime.activeRun(id: id) }).get() {
            return JSONResponse.make(APIRendering.run(live))
        }
        return JSONResponse.make(APIRendering.run(try await storedRun(id)))
    }

    /// A run from the store, or `404 not_found`.
    func storedRun(_ id: String) async throws -> RunRecord {
        let store = self.store
        guard let run = try await threadPool.runIfActive({ try store.run(id: id) }) else {
            throw APIError(.notFound, .notFound, "no run with id '\(id)'")
        }
        return run
    }

    func cancelRun(_ id: String) async throws -> Response {
        let runtime = self.runtime
        let cancelled: RunRecord? = try await withCheckedThrowingContinuation { continuation in
            runtime.loop.execute {
                runtime.cancel(runId: id) { result in continuation.resume(with: result.mapError { APIError($0) }) }
            }
        }
        if let cancelled {
            return JSONResponse.make(APIRendering.run(cancelled))
        }
        let run = try await storedRun(id)
        throw APIError(.conflict, .conflict, "run '\(id)' already ended as \(run.status.rawValue); only active runs can be cancelled")
    }

    // MARK: Functions and status

    func functions() async throws -> Response {
        let runtime = self.runtime
        let entries = try await runtime.loop.submit { () -> [(FunctionDefinition, [(String, String)])] in
            runtime.functionDefinitions().map { definition, connections in
                (definition, connections.sorted().map { ($0, runtime.instanceId(ofConnection: $0) ?? "") })
            }
        }.get()
        let functions = entries.map { definition, workers -> JSONValue in
            [
                "id": .string(definition.id), "app": .string(definition.app), "slug": .string(definition.slug),
                "name": .string(definition.name), "triggers": .array(definition.triggers.map(APIRendering.trigger)),
                "config": APIRendering.config(definition),
                "workers": .array(workers.map { ["connectionId": .string($0.0), "instanceId": .string($0.1)] }),
            ]
        }
        return JSONResponse.make(["functions": .array(functions)])
    }

    func status() async throws -> Response {
        JSONResponse.make(try await statusDocument())
    }

    /// `GET /v1/status/stream`: Server-Sent Events, each `data:` line the `GET /v1/status` document,
    /// sent when it changed, at most every `statusStreamIntervalMilliseconds`; a comment line every
    /// 15 s keeps idle proxies from closing the connection. The stream ends when the client goes
    /// away or the coordinator drains.
    func statusStream() -> Response {
        let routes = self
        let interval = Int64(Self.statusStreamIntervalMilliseconds)
        let body = ResponseBody { writer in
            var last: [UInt8] = []
            var quietTicks = 0
            while !Task.isCancelled {
                let draining = try await routes.runtime.loop.submit { routes.runtime.draining }.get()
                if draining { break }
                let document = try await routes.statusDocument().serialized()
                if document != last {
                    var event = Array("data: ".utf8)
                    event.append(contentsOf: document)
                    event.append(contentsOf: Array("\n\n".utf8))
                    try await writer.write(ByteBuffer(bytes: event))
                    last = document
                    quietTicks = 0
                } else {
                    quietTicks += 1
                    if quietTicks * Int(interval) >= 15_000 {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        quietTicks = 0
                    }
                }
                try await Task.sleep(for: .milliseconds(interval))
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"],
            body: body)
    }

    /// Shortest time between two events of the status stream (4 per second at most).
    static let statusStreamIntervalMilliseconds = 250

    /// `GET /v1/workers`: every connected worker as in `/v1/status`, plus the functions it registered
    /// and its recent capacity and in-flight samples (oldest first).
    func workers() async throws -> Response {
        let runtime = self.runtime
        let (snapshot, history) = try await runtime.loop.submit { (runtime.status(), runtime.workerHistory) }.get()
        let workers = snapshot.workers.map { worker -> JSONValue in
            var document = APIRendering.worker(worker)
            if case .object(var object) = document {
                object["functions"] = .array(worker.functions.map(JSONValue.string))
                object["history"] = .array(
                    history.history(of: worker.instanceId).map { sample in
                        [
                            "at": APIRendering.timestamp(sample.atMilliseconds), "capacity": .int(Int64(sample.capacity)),
                            "inFlight": .int(Int64(sample.inFlight)),
                        ]
                    })
                document = .object(object)
            }
            return document
        }
        return JSONResponse.make([
            "workers": .array(workers), "sampleIntervalMs": .int(history.intervalMilliseconds),
        ])
    }

    /// The `GET /v1/status` document.
    func statusDocument() async throws -> JSONValue {
        let runtime = self.runtime
        let (snapshot, failure) = try await runtime.loop.submit { (runtime.status(), runtime.storageFailure) }.get()
        let available = snapshot.workers.reduce(0) { $0 + ($1.status == "ready" ? max(0, $1.capacity - $1.inFlight) : 0) }
        let workers = snapshot.workers.map(APIRendering.worker)
        let functions = snapshot.functions.map(APIRendering.functionStatus)
        let document: JSONValue = [
            "coordinator": [
                "version": .string(configuration.version),
                "startedAt": APIRendering.timestamp(runtime.startedAtMilliseconds),
                "durability": .string(configuration.durability.rawValue),
                "healthy": .bool(failure == nil),
                "activeRuns": .int(Int64(snapshot.activeRuns)),
            ],
            "capacity": [
                "total": .int(Int64(snapshot.capacityTotal)), "inFlight": .int(Int64(snapshot.inFlight)),
                "available": .int(Int64(available)),
            ],
            "workers": .array(workers),
            "functions": .array(functions),
            "queue": ["depth": .int(Int64(snapshot.queueDepth)), "oldestAgeMs": .int(snapshot.oldestQueuedAgeMilliseconds)],
            "handshakes": APIRendering.handshakes(limiter),
        ]
        return document
    }

    func ready() async throws -> Response {
        let runtime = self.runtime
        // Not ready from the moment a drain is asked for (`POST /v1/admin/drain`), not only once it runs.
        let (failure, draining) = try await runtime.loop.submit {
            (runtime.storageFailure, runtime.draining || runtime.drainRequested)
        }.get()
        if let failure {
            // Open to anyone: the code only; the coordinator logged the whole error when it failed.
            throw APIError(
                .serviceUnavailable, .storageUnavailable,
                "the store failed (\(failure.code)); restart the coordinator once the cause is fixed (see its log)")
        }
        if draining {
            throw APIError(.serviceUnavailable, .draining, "the coordinator is shutting down")
        }
        return JSONResponse.make(["status": "ready"])
    }
}

/// Requires `Authorization: Bearer <api key>` (`tether serve`).
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], let token = Self.bearerToken(header), keys.contains(token)
        else {
            throw APIError(.unauthorized, .unauthenticated, "missing or wrong API key: send 'Authorization: Bearer <key>'")
        }
        return try await next(request, context)
    }

    /// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
    /// (RFC 9110) and may be followed by more than one space.
    static func bearerToken(_ header: String) -> String? {
        guard let space = header.firstIndex(of: " "), header[..<space].lowercased() == "bearer" else { return nil }
        let token = header[space...].drop { $0 == " " }
        return token.isEmpty ? nil : String(token)
    }
}
