import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import TetherEngine
import TetherProtocol
import TetherTelemetry

/// A worker process's connection to the coordinator: it registers the app's functions,
/// advertises its capacity and runs the steps the coordinator dispatches to it.
///
/// The worker dials out over TLS and keeps one connection, reconnecting with exponential
/// backoff and full jitter when it drops. Heartbeats run on the connection's event loop, so
/// a step that blocks or spins never delays them. On graceful shutdown (SIGTERM/SIGINT with
/// ``runUntilSignalled()``) it stops taking steps, finishes the ones in flight within
/// ``WorkerOptions/shutdownGracePeriod``, hands back the rest and says goodbye.
///
/// ```swift
/// let worker = Worker(app: "shop", functions: [processOrder])
/// try await worker.runUntilSignalled()
/// ```
public final class Worker: Service, Sendable {
    /// The app these functions belong to.
    public let app: String
    public let functions: [TetherFunction]
    public let options: WorkerOptions
    let logger: Logger
    let executor: FunctionExecutor
    let group: any EventLoopGroup
    let state: Mutex<State>
    /// The tracer of traced step requests, while ``run()`` runs with tracing on.
    let tracing = Mutex<TetherTracing?>(nil)

    struct State {
        var capacity: Int
        var channel: (any Channel)?
        var connectionId: String?
        /// Requests being executed: request id → run id.
        var inFlight: [String: String] = [:]
        /// Results not yet acknowledged, resent after a reconnect.
        var unacknowledged: [String: Tether_V1_Frame] = [:]
        var unacknowledgedOrder: [String] = []
        var draining = false
        var stopped = false
        var stepsExecuted = 0
        /// The coordinator's frame maximum, from Welcome.
        var coordinatorMaxFrameBytes = Limits.default.maxFrameBytes
    }

    /// Creates a worker for `functions` of `app`; options default to the `TETHER_*` environment.
    public init(
        app: String, functions: [TetherFunction], options: WorkerOptions = WorkerOptions(),
        logger: Logger = Logger(label: "tether.worker"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.app = app
        self.functions = functions
        self.options = options
        var logger = logger
        logger[metadataKey: "instance"] = "\(options.instanceId)"
        self.logger = logger
        self.executor = FunctionExecutor(functions: functions, logger: logger)
        self.group = eventLoopGroup
        self.state = Mutex(State(capacity: max(0, options.maxConcurrency)))
    }

    /// Changes the advertised capacity at runtime; the coordinator never sends more steps than this.
    public func setCapacity(_ capacity: Int) {
        let channel = state.withLock { state -> (any Channel)? in
            state.capacity = max(0, capacity)
            return state.channel
        }
        var frame = Tether_V1_Frame()
        frame.capacityUpdate = .with { $0.capacity = UInt32(clamping: max(0, capacity)) }
        channel?.writeAndFlush(frame, promise: nil)
    }

    /// The connection id the coordinator gave the current connection, if connected.
    public var connectionId: String? { state.withLock { $0.connectionId } }

    /// Steps this worker has executed since it started.
    public var stepsExecuted: Int { state.withLock { $0.stepsExecuted } }

    /// Runs the worker in a service group that shuts down gracefully on SIGTERM or SIGINT.
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: self)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Connects and serves until graceful shutdown, then drains. Throws for problems no retry
    /// can fix: a wrong signing key, an invalid function configuration, an unsupported protocol.
    public func run() async throws {
        try TetherFunction.validate(functions, app: app)
        let key = try options.key()
        let addresses = try options.coordinatorAddresses()
        let sslContext = try makeTLSContext()
        let tracing = try startTracing()
        logger.info(
            "worker starting",
            metadata: [
                "app": "\(app)", "coordinator": "\(options.coordinator)", "capacity": "\(options.maxConcurrency)",
                "functions": "\(functions.map(\.id).joined(separator: ","))",
                "tracing": "\(tracing == nil ? "off" : "on")",
            ])
        if let tracing {
            // The span exporter stops after the worker has drained, so its last steps' spans leave too.
            try await tracing.exporting(logger: logger) {
                try await serve(key: key, addresses: addresses, sslContext: sslContext)
            }
        } else {
            try await serve(key: key, addresses: addresses, sslContext: sslContext)
        }
        logger.info("worker stopped")
    }

    /// Connects and serves until graceful shutdown, then drains.
    private func serve(key: SigningKey, addresses: [CoordinatorAddress], sslContext: NIOSSLContext) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                try await self.connectLoop(key: key, addresses: addresses, sslContext: sslContext)
            }
            tasks.addTask {
                do {
                    try await gracefulShutdown()
                } catch {
                    return  // cancelled: the connect loop ended first
                }
                await self.drain()
            }
            try await tasks.next()
            tasks.cancelAll()
            try await tasks.waitForAll()
        }
    }

    /// Starts tracing when ``WorkerOptions/tracing`` is on and the `OTEL_*` variables configure an
    /// exporter (`service.name` defaults to the app): the tracer, whose exporter ``run()`` runs, or nil.
    private func startTracing() throws -> TetherTracing? {
        guard options.tracing else { return nil }
        let settings: TracingSettings?
        do {
            settings = try TracingSettings.resolve(serviceName: app, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw TetherError(.invalidConfig, "tracing: \(error)")
        }
        guard let settings else { return nil }
        let tracing = try TetherTracing.make(settings, logger: logger)
        self.tracing.withLock { $0 = tracing }
        return tracing
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv13
        if let caFile = options.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw TetherError(.invalidConfig, "TETHER_CA_FILE '\(caFile)' does not exist or is not readable")
            }
            tls.trustRoots = .file(caFile)
        }
        return try NIOSSLContext(configuration: tls)
    }

    /// Connects, serves the connection until it ends, waits with backoff, and again; which
    /// address it dials and how long it waits is the ``CoordinatorDialPlan``'s.
    private func connectLoop(key: SigningKey, addresses: [CoordinatorAddress], sslContext: NIOSSLContext) async throws {
        var random = SystemRandomNumberGenerator()
        var plan = CoordinatorDialPlan(addresses: addresses, using: &random)
        while !state.withLock({ $0.draining || $0.stopped }) {
            let end: SessionEnd
            switch await plan.next(using: &random, resolve: AddressResolver.resolve) {
            case .dial(let target):
                end = await runSession(key: key, target: target, sslContext: sslContext)
            case .unresolved(let address):
                end = .closed(reason: "cannot resolve \(address.host)", wasWelcomed: false)
            }
            if state.withLock({ $0.draining || $0.stopped }) { break }
            let delay: Int
            switch plan.sessionEnded(end, using: &random) {
            case .stop(let error):
                logger.error(
                    "coordinator rejected the worker", metadata: ["code": "\(error.code)", "message": "\(error.message)"])
                state.withLock { $0.stopped = true }
                throw error
            case .follow(let leader, let after):
                delay = after
                let standby = plan.last.map(\.description) ?? "?"
                logger.info(
                    "coordinator is not the leader; following it to the leader",
                    metadata: ["coordinator": "\(standby)", "leader": "\(leader)", "inMs": "\(delay)"])
            case .wait(let milliseconds):
                delay = milliseconds
                switch end {
                case .rejected(let code, let message, _):
                    logger.warning(
                        "coordinator refused the connection; retrying",
                        metadata: ["code": "\(code)", "message": "\(message)", "retryInMs": "\(delay)"])
                case .notLeader(let message, let leader, _):
                    logger.warning(
                        "coordinator is not the leader; trying the next address",
                        metadata: ["message": "\(message)", "leader": "\(leader)", "retryInMs": "\(delay)"])
                case .reconnect:
                    logger.info("coordinator asked to reconnect", metadata: ["inMs": "\(delay)"])
                case .closed(let reason, _):
                    logger.warning("connection lost; reconnecting", metadata: ["reason": "\(reason)", "inMs": "\(delay)"])
                }
            }
            await sleepUnlessDraining(milliseconds: delay)
        }
    }

    private func sleepUnlessDraining(milliseconds: Int) async {
        var left = milliseconds
        while left > 0, !Task.isCancelled, !state.withLock({ $0.draining || $0.stopped }) {
            let slice = min(left, 100)
            try? await Task.sleep(for: .milliseconds(slice))
            left -= slice
        }
    }
}
