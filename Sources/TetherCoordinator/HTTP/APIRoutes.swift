import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import OpenAPIHummingbird
import OpenAPIRuntime
import Synchronization
import TetherAPI
import TetherEngine
import TetherStore

/// The HTTP API (docs/api.md): the `/v1` operations generated from `openapi.yaml`
/// (``APIHandlers``), and the plain routes beside them: `/healthz`, `/readyz`, the dashboard,
/// `/openapi.json` and the Server-Sent Events of `/v1/status/stream`.
struct APIRoutes: Sendable {
    let handlers: APIHandlers
    /// The last status document the stream encoded, shared by every stream: one encoding per
    /// snapshot, however many clients follow it.
    private let streamDocument = StreamDocument()

    private final class StreamDocument: Sendable {
        let last = Mutex<(builtAt: NIODeadline, bytes: Data)?>(nil)
    }

    init(handlers: APIHandlers) {
        self.handlers = handlers
    }

    var runtime: CoordinatorRuntime { handlers.runtime }
    var configuration: CoordinatorConfiguration { handlers.configuration }

    func register(on router: Router<BasicRequestContext>) throws {
        router.get("/healthz") { _, _ in JSONResponse.make(["status": "ok"]) }
        router.get("/readyz") { _, _ in try await ready() }
        router.get("/", use: { _, _ in Dashboard.response() })
        router.get("/openapi.json") { _, _ in Self.openAPIResponse() }
        router.get("/v1/status/stream") { _, _ in statusStream() }
        try handlers.registerHandlers(
            on: router, serverURL: URL(string: "/")!, configuration: .tether,
            middlewares: [EventAdmissionMiddleware(runtime: runtime), EventBodyMiddleware(limits: configuration.limits)])
    }

    /// `openapi.yaml` as JSON, as `scripts/generate-openapi.sh` wrote it beside the generated code.
    static func openAPIResponse() -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.json)))
    }

    /// `GET /v1/status/stream`: Server-Sent Events, each `data:` line the `GET /v1/status` document,
    /// sent when it changed, at most every `statusStreamIntervalMilliseconds`; a comment line every
    /// 15 s keeps idle proxies from closing the connection. The stream ends when the client goes
    /// away or the coordinator drains.
    func statusStream() -> Response {
        let routes = self
        let interval = Int64(Self.statusStreamIntervalMilliseconds)
        let body = ResponseBody { writer in
            var last = Data()
            var quietTicks = 0
            while !Task.isCancelled {
                if routes.runtime.health.draining { break }
                let document = try await routes.encodedStatus()
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

    /// The status document of the current snapshot, encoded once for every stream.
    func encodedStatus() async throws -> Data {
        let snapshot = try await runtime.snapshot()
        if let cached = streamDocument.last.withLock({ $0 }), cached.builtAt == snapshot.builtAt {
            return cached.bytes
        }
        let bytes = try APIEncoding.encoder().encode(handlers.statusDocument(of: snapshot))
        streamDocument.last.withLock { $0 = (snapshot.builtAt, bytes) }
        return bytes
    }

    /// Shortest time between two events of the status stream (4 per second at most).
    static let statusStreamIntervalMilliseconds = 250

    func ready() async throws -> Response {
        // Not ready from the moment a drain is asked for (`POST /v1/admin/drain`), not only once it runs.
        let health = runtime.health
        if let failure = health.storageFailure {
            // Open to anyone: the code only; the coordinator logged the whole error when it failed.
            let journalFailed = failure.code == .journalUnavailable || failure.code == .fenced
            let advice =
                configuration.leaderTerm != nil && journalFailed
                ? "this node steps down and serves again once the journal answers (see its log)"
                : "restart the coordinator once the cause is fixed (see its log)"
            throw APIError(.serviceUnavailable, .storage_unavailable, "the store failed (\(failure.code)); \(advice)")
        }
        if health.isDrainingOrRequested {
            throw APIError(.serviceUnavailable, .draining, "the coordinator is shutting down")
        }
        if let term = configuration.leaderTerm, !term.isLeading {
            throw APIError(.serviceUnavailable, .not_leader, "this node is leaving the leader role")
        }
        return JSONResponse.make(["status": "ready"])
    }
}

/// Requires `Authorization: Bearer <api key>` on every `/v1` path, a known one or not, so an
/// unknown path under `/v1` answers `401` before `404` and reveals nothing (`tether serve`);
/// `/metrics` too unless `metricsPublic`.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: Set<String>
    /// Whether a path needs a key.
    let protects: @Sendable (String) -> Bool

    init(keys: Set<String>, protects: @escaping @Sendable (String) -> Bool = { _ in true }) {
        self.keys = keys
        self.protects = protects
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if protects(request.uri.path) {
            guard let header = request.headers[.authorization], let token = Self.bearerToken(header), keys.contains(token)
            else {
                throw APIError(.unauthorized, .unauthenticated, "missing or wrong API key: send 'Authorization: Bearer <key>'")
            }
        }
        return try await next(request, context)
    }

    /// The paths `tether serve` protects: `/v1` and everything under it, and `/metrics` unless public.
    static func protectedPath(metricsPublic: Bool) -> @Sendable (String) -> Bool {
        { path in
            path == "/v1" || path.hasPrefix("/v1/") || (!metricsPublic && path == "/metrics")
        }
    }

    /// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
    /// (RFC 9110) and may be followed by more than one space.
    static func bearerToken(_ header: String) -> String? {
        guard let space = header.firstIndex(of: " "), header[..<space].lowercased() == "bearer" else { return nil }
        let token = header[space...].drop { $0 == " " }
        return token.isEmpty ? nil : String(token)
    }
}

/// One route the HTTP server registered: its method and its path as an OpenAPI template
/// (`/v1/runs/{id}`, which is also how Hummingbird describes a `:id` capture).
struct RegisteredRoute: Hashable, Sendable, CustomStringConvertible, Comparable {
    var method: String
    var path: String

    var description: String { "\(method) \(path)" }

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.path, lhs.method) < (rhs.path, rhs.method)
    }
}
