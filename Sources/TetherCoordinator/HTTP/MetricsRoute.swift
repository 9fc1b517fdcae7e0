import Hummingbird
import NIOCore

/// `GET /metrics`: the coordinator's metrics in the Prometheus text format (docs/api.md).
///
/// Open in `tether dev` (no API keys). With API keys (`tether serve`) it needs
/// `Authorization: Bearer <api key>` like `/v1/*`, unless `metricsPublic` is set
/// (``BearerAuthMiddleware/protectedPath(metricsPublic:)``).
struct MetricsRoute: Sendable {
    let runtime: CoordinatorRuntime
    let limiter: HandshakeLimiter
    let configuration: CoordinatorConfiguration

    /// The Prometheus text exposition format, version 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The API key, when `tether serve` asks for one, is checked by the router's
    /// `BearerAuthMiddleware`.
    func register(on router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ in try await scrape() }
    }

    func scrape() async throws -> Response {
        let snapshot = try await runtime.snapshot()
        let handshakes = limiter.statistics
        let scrape = CoordinatorMetrics.Scrape(
            status: snapshot.status, functionApps: snapshot.functionApps, storeHealthy: runtime.health.storageFailure == nil, store: runtime.store.writer.statistics,
            handshakesInProgress: handshakes.inProgress, handshakesQueued: handshakes.queued,
            handshakesAwaitingClientHello: limiter.preHandshake.count, dispatchHeld: snapshot.dispatchHeld,
            uncommittedBytes: snapshot.uncommittedBytes, diskBytes: runtime.store.diskBytes(),
            storeMemory: runtime.store.memoryUsage())
        var text = runtime.metrics.render(scrape)
        if let term = configuration.leaderTerm {
            text = term.state.renderMetrics(appendingTo: text)
        }
        return Self.response(text)
    }

    static func response(_ text: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }
}
