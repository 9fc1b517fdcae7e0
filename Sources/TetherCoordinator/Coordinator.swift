import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization
import TetherEngine
import TetherStore
import TetherTelemetry

/// The Tether coordinator: worker listener, scheduler, store and HTTP API, as one
/// ServiceLifecycle `Service`.
///
/// `run()` opens the store, rebuilds the scheduler from it, binds both ports and serves until
/// graceful shutdown; then it asks workers to reconnect elsewhere, stops the servers and
/// closes the store after its last write. ``waitUntilRunning()`` returns the bound ports.
public final class Coordinator: Service, Sendable {
    /// Where the coordinator listens, once it runs.
    public struct Endpoints: Sendable, Equatable {
        public var httpPort: Int
        public var workerPort: Int
    }

    public let configuration: CoordinatorConfiguration
    /// This coordinator's metrics (`GET /metrics`): its own registry, never the global
    /// `MetricsSystem`, so coordinators in one process keep separate counts. Metrics you
    /// create here are served too.
    public var metricsRegistry: PrometheusCollectorRegistry { metrics.registry }
    let metrics: CoordinatorMetrics
    private let logger: Logger
    private let group: any EventLoopGroup
    private let state = Mutex<State>(State())

    private struct State {
        var endpoints: Endpoints?
        var failure: (any Error)?
        var waiters: [CheckedContinuation<Endpoints, any Error>] = []
        var routes: [RegisteredRoute] = []
    }

    /// The routes the HTTP server registered, once it runs: what `GET /openapi.json` must describe.
    var registeredRoutes: [RegisteredRoute] {
        state.withLock { $0.routes }
    }

    public convenience init(
        configuration: CoordinatorConfiguration, logger: Logger = Logger(label: "tether.coordinator"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.init(configuration: configuration, logger: logger, eventLoopGroup: eventLoopGroup, metrics: CoordinatorMetrics())
    }

    /// A coordinator counting into `metrics` (a cluster node's terms share one registry).
    init(configuration: CoordinatorConfiguration, logger: Logger, eventLoopGroup: any EventLoopGroup, metrics: CoordinatorMetrics) {
        self.configuration = configuration
        self.logger = logger
        self.group = eventLoopGroup
        self.metrics = metrics
    }

    /// Waits until both ports are bound (or startup failed).
    public func waitUntilRunning() async throws -> Endpoints {
        try await withCheckedThrowingContinuation { continuation in
            state.withLock { state in
                if let endpoints = state.endpoints {
                    continuation.resume(returning: endpoints)
                } else if let failure = state.failure {
                    continuation.resume(throwing: failure)
                } else {
                    state.waiters.append(continuation)
                }
            }
        }
    }

    private func announce(_ result: Result<Endpoints, any Error>) {
        let waiters = state.withLock { state in
            switch result {
            case .success(let endpoints): state.endpoints = endpoints
            case .failure(let error): state.failure = error
            }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    public func run() async throws {
        // A cluster node's term runs with the node's tracer (and its exporter) already set.
        guard let settings = configuration.tracing, configuration.tracer == nil else {
            return try await runCoordinator(configuration)
        }
        var configuration = self.configuration
        let tracing: TetherTracing
        do {
            tracing = try TetherTracing.make(settings, logger: logger)
        } catch {
            announce(.failure(error))  // waitUntilRunning() must not wait for a coordinator that never starts
            throw error
        }
        configuration.tracer = tracing
        // The span exporter stops after the coordinator, so the spans of its last moments (runs
        // interrupted by the shutdown) are exported too.
        try await tracing.exporting(logger: logger) { try await runCoordinator(configuration) }
    }

    private func runCoordinator(_ configuration: CoordinatorConfiguration) async throws {
        do {
            if let cluster = configuration.cluster {
                let state = ClusterNodeState(nodeId: cluster.nodeId)
                let node = ClusterNode(
                    configuration: configuration, cluster: cluster, state: state, metrics: metrics, group: group,
                    logger: logger, onListening: { [self] endpoints in announce(.success(endpoints)) })
                try await node.run()
                return
            }
            try await serve(configuration)
        } catch {
            announce(.failure(error))
            throw error
        }
    }

    /// Runs the coordinator with its own threads: one event loop for the scheduler alone (no
    /// connection or request shares it, so neither TLS nor HTTP parsing delays a dispatch) and a
    /// small pool for store reads. Both stop after the store closed.
    private func serve(_ configuration: CoordinatorConfiguration) async throws {
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let scheduler = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = scheduler.next()
        loop.execute { Self.nameThread("tether-scheduler") }
        let result: Result<Void, any Error>
        do {
            try await serve(configuration, threadPool: threadPool, schedulerLoop: loop)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        try? await scheduler.shutdownGracefully()
        try? await threadPool.shutdownGracefully()
        try result.get()
    }

    /// Names the current thread (`top -H`, `perf --sort comm`); at most 15 characters.
    private static func nameThread(_ name: String) {
        Thread.current.name = String(name.prefix(15))
    }

    /// Opens the store and starts the scheduler, binds the worker port, then runs the services
    /// (HTTP application, scheduler, worker listener) as one `ServiceGroup` until graceful
    /// shutdown: SIGTERM through the enclosing group, or `POST /v1/admin/drain`. The group stops
    /// them in reverse: the worker listener stops accepting, the scheduler tells every worker to
    /// reconnect within the window, then the HTTP server stops (it answers `/readyz` with `503
    /// draining` meanwhile). The store closes after the last of them, after its last write.
    private func serve(
        _ configuration: CoordinatorConfiguration, threadPool: NIOThreadPool, schedulerLoop: any EventLoop
    ) async throws {
        let engine = try await CoordinatorEngine.open(
            configuration: configuration, loop: schedulerLoop, threadPool: threadPool, metrics: metrics, logger: logger)
        defer { engine.store.close() }
        let runtime = engine.runtime

        let listener = WorkerListener(
            configuration: configuration, runtime: runtime, limiter: engine.limiter, group: group, logger: logger)
        let workerChannel = try await listener.bind()
        let workerPort = workerChannel.localAddress?.port ?? configuration.workerPort

        let window = ReconnectWindow(defaultValue: configuration.reconnectWindowMilliseconds)
        let shutdown = ShutdownTrigger()
        let handlers = APIHandlers(
            runtime: runtime, store: engine.store, threadPool: threadPool, configuration: configuration,
            limiter: engine.limiter,
            requestDrain: { milliseconds in
                window.request(milliseconds)
                Task { await shutdown.trigger() }
            })
        let (router, routes) = try HTTPRouter.build(handlers: handlers, limiter: engine.limiter, logger: logger)
        state.withLock { $0.routes = routes }
        let app = Application(
            router: router,
            server: try .serving(HTTPEdgeChannel.builder(), tls: configuration.httpTLS),
            configuration: .init(address: .hostname(configuration.host, port: configuration.httpPort), serverName: "tether"),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? configuration.httpPort
                announce(.success(Endpoints(httpPort: port, workerPort: workerPort)))
                logger.info(
                    "coordinator running",
                    metadata: [
                        "http": "\(configuration.host):\(port)", "scheme": "\(configuration.httpScheme)",
                        "workers": "\(configuration.host):\(workerPort)",
                    ])
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger)

        var serviceList: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: app),
            .init(service: SchedulerService(runtime: runtime, window: window, logger: logger)),
            .init(service: WorkerListenerService(channel: workerChannel)),
        ]
        if let term = configuration.leaderTerm {
            serviceList.append(
                .init(
                    service: CheckpointService(
                        term: term, db: engine.store.db, threadPool: threadPool, version: configuration.version,
                        logger: logger)))
        }
        // Last, so it stops first: its deletions are committed through the scheduler's runtime.
        serviceList.append(
            .init(
                service: RetentionService(
                    runtime: runtime, store: engine.store, threadPool: threadPool, policy: configuration.retention,
                    idWindowMilliseconds: configuration.limits.idempotencyWindowMilliseconds, clock: configuration.clock,
                    logger: logger)))
        let services = ServiceGroup(configuration: .init(services: serviceList, logger: logger))
        shutdown.set(services)
        do {
            try await services.run()
        } catch {
            try? await workerChannel.close()
            throw error
        }
        if window.wasRequested { logger.info("coordinator drained") }
        // Last writes are flushed by store.close() (deferred above).
    }
}
