import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TetherAPI
import TetherCluster

/// A standby node's ports: on HTTP (HTTPS with `httpTls`), `/healthz` (healthy), `/readyz` (`503 not_leader`, so a
/// load balancer sends nothing here), `/v1/cluster`, `/metrics` (the cluster families) and
/// `/openapi.json`; every other request is redirected (307, method and body kept) to the
/// leader's advertised HTTP address, or answered `503 not_leader` while no leader is known.
/// The worker port answers each worker with `Reject` `not_leader` and the leader's worker address.
final class StandbyServer: Sendable {
    let configuration: CoordinatorConfiguration
    let cluster: ClusterConfiguration
    let state: ClusterNodeState
    let group: any EventLoopGroup
    let logger: Logger
    private let running = Mutex<(services: ServiceGroup, task: Task<Void, Never>)?>(nil)
    private let workers = Mutex<NotLeaderListener?>(nil)

    init(
        configuration: CoordinatorConfiguration, cluster: ClusterConfiguration, state: ClusterNodeState,
        group: any EventLoopGroup, logger: Logger
    ) {
        self.configuration = configuration
        self.cluster = cluster
        self.state = state
        self.group = group
        self.logger = logger
    }

    /// Binds the HTTP port (retrying while the leader term that just ended still holds it) and
    /// serves until ``stop()``.
    func start() async throws -> Coordinator.Endpoints {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: APIErrorMiddleware(maxRequestBodyBytes: configuration.limits.maxRequestBodyBytes, logger: logger))
        if !configuration.apiKeys.isEmpty {
            router.add(
                middleware: BearerAuthMiddleware(
                    keys: Set(configuration.apiKeys),
                    protects: BearerAuthMiddleware<BasicRequestContext>.protectedPath(metricsPublic: configuration.metricsPublic)))
        }
        router.add(middleware: LeaderRedirectMiddleware(state: state, scheme: configuration.httpScheme))
        let state = self.state
        router.get("/healthz") { _, _ in JSONResponse.make(["status": "ok"]) }
        router.get("/readyz") { _, _ -> Response in
            throw APIError(.serviceUnavailable, .not_leader, Self.notLeaderMessage(state.view()))
        }
        router.get("/openapi.json") { _, _ in APIRoutes.openAPIResponse() }
        router.get("/metrics") { _, _ in MetricsRoute.response(state.renderMetrics()) }
        router.get("/v1/cluster") { _, _ -> Response in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var body = try encoder.encode(APIRendering.cluster(state.view()))
            body.append(UInt8(ascii: "\n"))
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        let server = try HTTPServerBuilder.serving(.http1(), tls: configuration.httpTLS)
        let ready = Shared<CheckedContinuation<Int, any Error>?>(nil)
        var lastError: (any Error)?
        for _ in 0..<50 {
            let app = Application(
                router: router,
                server: server,
                configuration: .init(
                    address: .hostname(configuration.host, port: configuration.httpPort), serverName: "tether"),
                onServerRunning: { channel in
                    let continuation = ready.value.withLock { value in
                        defer { value = nil }
                        return value
                    }
                    continuation?.resume(returning: channel.localAddress?.port ?? 0)
                },
                eventLoopGroupProvider: .shared(group),
                logger: logger)
            let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
            do {
                let port = try await withCheckedThrowingContinuation { continuation in
                    ready.value.withLock { $0 = continuation }
                    let task = Task {
                        do {
                            try await services.run()
                        } catch {
                            let waiting = ready.value.withLock { value in
                                defer { value = nil }
                                return value
                            }
                            waiting?.resume(throwing: error)
                        }
                    }
                    running.withLock { $0 = (services, task) }
                }
                let workerPort = try await bindWorkerPort()
                logger.info(
                    "standing by",
                    metadata: [
                        "node": "\(cluster.nodeId)", "http": "\(configuration.host):\(port)",
                        "scheme": "\(configuration.httpScheme)",
                        "workers": "\(configuration.workerHost ?? configuration.host):\(workerPort)",
                    ])
                return Coordinator.Endpoints(httpPort: port, workerPort: workerPort)
            } catch {
                lastError = error
                await stop()
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw lastError ?? ClusterError(.invalidConfig, "cannot bind the HTTP port \(configuration.httpPort)")
    }

    /// The worker port: every worker is sent to the leader (`Reject not_leader`).
    private func bindWorkerPort() async throws -> Int {
        let state = self.state
        let listener = NotLeaderListener(
            configuration: configuration,
            leaderWorkerAddress: {
                let view = state.view()
                guard let leader = view.leader, leader.nodeId != view.nodeId, !leader.worker.isEmpty else { return nil }
                return leader.worker
            }, group: group, logger: logger)
        workers.withLock { $0 = listener }
        return try await listener.bind()
    }

    func stop() async {
        if let listener = workers.withLock({ value in
            defer { value = nil }
            return value
        }) {
            await listener.close()
        }
        guard let (services, task) = running.withLock({ value in
            defer { value = nil }
            return value
        }) else { return }
        await services.triggerGracefulShutdown()
        await task.value
    }

    static func notLeaderMessage(_ view: ClusterView) -> String {
        if let leader = view.leader, !leader.http.isEmpty {
            return "this node (\(view.nodeId)) is a standby; the leader is \(leader.nodeId) at \(leader.http)"
        }
        return "this node (\(view.nodeId)) is a standby and knows no leader yet; try again shortly"
    }
}

/// On a standby: every request but the node's own routes goes to the leader (307), or gets
/// `503 not_leader` while no leader is known. The leader's advertised address has no scheme:
/// the redirect uses this node's (`https` with `httpTls`), as every node of a cluster serves
/// the same one.
struct LeaderRedirectMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: ClusterNodeState
    /// `http` or `https`.
    let scheme: String

    static var ownPaths: Set<String> { ["/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/cluster"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.ownPaths.contains(request.uri.path) { return try await next(request, context) }
        let view = state.view()
        guard let leader = view.leader, !leader.http.isEmpty, leader.nodeId != view.nodeId else {
            throw APIError(
                .serviceUnavailable, .not_leader, StandbyServer.notLeaderMessage(view), headers: [.retryAfter: "1"])
        }
        var location = "\(scheme)://\(leader.http)\(request.uri.path)"
        if let query = request.uri.query, !query.isEmpty { location += "?\(query)" }
        return Response(
            status: .temporaryRedirect,
            headers: [.location: location, .contentType: "application/json; charset=utf-8"],
            body: ResponseBody(
                byteBuffer: ByteBuffer(string: "{\"leader\":\"\(leader.nodeId)\",\"location\":\"\(location)\"}\n")))
    }
}

/// A value behind a lock that escaping closures can share.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>

    init(_ value: Value) {
        self.value = Mutex(value)
    }
}
