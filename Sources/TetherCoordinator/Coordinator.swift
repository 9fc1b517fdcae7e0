import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization
import TetherEngine
import TetherStore

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
    let metrics = CoordinatorMetrics()
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

    public init(
        configuration: CoordinatorConfiguration, logger: Logger = Logger(label: "tether.coordinator"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.logger = logger
        self.group = eventLoopGroup
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
        do {
            try await serve()
        } catch {
            announce(.failure(error))
            throw error
        }
    }

    private func serve() async throws {
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        do {
            try await serve(threadPool: threadPool)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
        try? await threadPool.shutdownGracefully()
    }

    private func serve(threadPool: NIOThreadPool) async throws {
        let configuration = self.configuration
        let store = try await threadPool.runIfActive {
            try CoordinatorStore(directory: configuration.dataDirectory, durability: configuration.durability)
        }
        defer { store.close() }

        let stored = try await threadPool.runIfActive { try store.loadState() }
        var core = CoordinatorCore(
            configuration: .init(
                limits: configuration.limits, timing: configuration.timing, retry: configuration.retry,
                checksInvariants: configuration.checksInvariants))
        let cleanup = core.restore(stored, now: configuration.clock())
        logger.info(
            "store opened",
            metadata: [
                "data": "\(configuration.dataDirectory)", "durability": "\(configuration.durability.rawValue)",
                "functions": "\(stored.functions.count)", "activeRuns": "\(stored.runs.count)",
                "leases": "\(stored.leases.count)",
                "checksInvariants": "\(configuration.checksInvariants)",
            ])

        let runtime = CoordinatorRuntime(
            loop: group.next(), store: store, configuration: configuration, core: core, metrics: metrics,
            logger: logger)
        runtime.start()
        if !cleanup.isEmpty { runtime.loop.execute { runtime.perform(cleanup) } }

        let limiter = HandshakeLimiter(
            limit: configuration.timing.maxConcurrentHandshakes, maxQueued: configuration.timing.maxQueuedHandshakes,
            maxPreHandshake: configuration.timing.maxPreHandshakeConnections)
        let listener = WorkerListener(
            configuration: configuration, runtime: runtime, limiter: limiter, group: group, logger: logger)
        let workerChannel = try await listener.bind()
        let workerPort = workerChannel.localAddress?.port ?? configuration.workerPort

        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: APIErrorMiddleware(maxRequestBodyBytes: configuration.limits.maxRequestBodyBytes, logger: logger))
        if !configuration.apiKeys.isEmpty {
            router.add(
                middleware: BearerAuthMiddleware(
                    keys: Set(configuration.apiKeys),
                    protects: BearerAuthMiddleware<BasicRequestContext>.protectedPath(
                        metricsPublic: configuration.metricsPublic)))
        }
        let routeTable = RouteTable()
        router.add(middleware: MethodMiddleware(routes: routeTable))
        // `POST /v1/admin/drain` asks for the same shutdown as SIGTERM, with its own reconnect window.
        let drainRequests = AsyncStream<UInt32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let handlers = APIHandlers(
            runtime: runtime, store: store, threadPool: threadPool, configuration: configuration, limiter: limiter,
            requestDrain: { drainRequests.continuation.yield($0) })
        try APIRoutes(handlers: handlers).register(on: router)
        MetricsRoute(runtime: runtime, limiter: limiter, configuration: configuration).register(on: router)
        let routes = router.routes.map { RegisteredRoute(method: $0.method.rawValue, path: $0.path.description) }
        routeTable.set(routes)
        state.withLock { $0.routes = routes.sorted() }
        let httpPort = Mutex<Int?>(nil)
        let httpStarted = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.httpPort), serverName: "tether"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.httpPort
                httpPort.withLock { $0 = port }
                httpStarted.continuation.yield(port)
                httpStarted.continuation.finish()
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger)

        do {
            try await serve(
                app: app, started: httpStarted.stream, drainRequests: drainRequests.stream, workerChannel: workerChannel,
                workerPort: workerPort, runtime: runtime)
        } catch is DrainCompleted {
            logger.info("coordinator drained")
        }
        // Last writes are flushed by store.close() (deferred above).
    }

    /// Thrown once a drain requested over HTTP has finished, to stop the HTTP server with it.
    private struct DrainCompleted: Error {}

    /// Runs the HTTP server until graceful shutdown (SIGTERM) or a drain request, then drains:
    /// the worker listener stops accepting, and every worker is told to reconnect at a random
    /// moment within the window (so they come back spread out, to this coordinator restarted or
    /// another one), in-flight results still arriving on open connections are not lost (the
    /// store is closed after the last commit).
    private func serve(
        app: some ApplicationProtocol, started: AsyncStream<Int>, drainRequests: AsyncStream<UInt32>,
        workerChannel: any Channel, workerPort: Int, runtime: CoordinatorRuntime
    ) async throws {
        let configuration = self.configuration
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask {
                try await app.run()
            }
            tasks.addTask {
                var iterator = started.makeAsyncIterator()
                guard let port = await iterator.next() else { return }
                self.announce(.success(Endpoints(httpPort: port, workerPort: workerPort)))
                self.logger.info(
                    "coordinator running",
                    metadata: ["http": "\(configuration.host):\(port)", "workers": "\(configuration.host):\(workerPort)"])
            }
            tasks.addTask {
                // Whichever comes first: SIGTERM (graceful shutdown of the service group) or a drain request.
                let requested = await withTaskGroup(of: UInt32?.self) { race -> UInt32? in
                    race.addTask {
                        try? await gracefulShutdown()
                        return nil
                    }
                    race.addTask {
                        var iterator = drainRequests.makeAsyncIterator()
                        return await iterator.next() ?? nil
                    }
                    let first = await race.next() ?? nil
                    race.cancelAll()
                    return first
                }
                let window = requested ?? Self.defaultReconnectWindowMilliseconds
                self.logger.info(
                    "coordinator draining", metadata: ["reason": "\(requested == nil ? "shutdown" : "drain request")", "reconnectWithinMs": "\(window)"])
                try? await workerChannel.close()
                await runtime.stop(reconnectWithinMilliseconds: window)
                if requested != nil { throw DrainCompleted() }
            }
        }
    }

    /// How long workers get to reconnect after a shutdown, each at a random moment within it.
    static let defaultReconnectWindowMilliseconds: UInt32 = 5_000
}
