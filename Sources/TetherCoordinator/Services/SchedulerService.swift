import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TetherEngine
import TetherStore

/// The store and the scheduler runtime of a coordinator, opened and started: what the worker
/// listener and the HTTP API are built on, and what an in-memory router test builds too.
struct CoordinatorEngine: Sendable {
    let store: CoordinatorStore
    let runtime: CoordinatorRuntime
    let limiter: HandshakeLimiter

    /// Opens the store (on `threadPool`), rebuilds the scheduler from it and starts the runtime on
    /// `loop`. The caller closes the store once nothing writes any more.
    static func open(
        configuration: CoordinatorConfiguration, loop: any EventLoop, threadPool: NIOThreadPool,
        metrics: CoordinatorMetrics, logger: Logger
    ) async throws -> CoordinatorEngine {
        let store = try await threadPool.runIfActive {
            try CoordinatorStore(
                directory: configuration.dataDirectory, durability: configuration.durability,
                journal: configuration.leaderTerm?.appender)
        }
        do {
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
                    "leases": "\(stored.leases.count)", "checksInvariants": "\(configuration.checksInvariants)",
                ])
            let runtime = CoordinatorRuntime(
                loop: loop, store: store, configuration: configuration, core: core, metrics: metrics, logger: logger)
            runtime.start()
            if !cleanup.isEmpty { runtime.loop.execute { runtime.perform(cleanup) } }
            let limiter = HandshakeLimiter(
                limit: configuration.timing.maxConcurrentHandshakes, maxQueued: configuration.timing.maxQueuedHandshakes,
                maxPreHandshake: configuration.timing.maxPreHandshakeConnections)
            return CoordinatorEngine(store: store, runtime: runtime, limiter: limiter)
        } catch {
            store.close()
            throw error
        }
    }
}

/// How long workers get to reconnect when the coordinator stops: the default on SIGTERM, or
/// what `POST /v1/admin/drain` asked for. Set before graceful shutdown starts.
final class ReconnectWindow: Sendable {
    /// The window a drain request asked for, if one did.
    private let requested = Mutex<UInt32?>(nil)
    /// The window when no drain asked for one.
    let defaultValue: UInt32

    init(defaultValue: UInt32) {
        self.defaultValue = defaultValue
    }

    var value: UInt32 { requested.withLock { $0 } ?? defaultValue }
    /// Whether a drain was asked for over HTTP (for the log).
    var wasRequested: Bool { requested.withLock { $0 } != nil }

    func request(_ window: UInt32) {
        requested.withLock { $0 = window }
    }
}

/// The scheduler runtime as a service: it runs from the start of the group, and on graceful
/// shutdown (after the worker listener stopped accepting) tells every connected worker to
/// reconnect at a random moment within the window, so they come back spread out, to this
/// coordinator restarted or another one. Results still arriving on open connections are not
/// lost: the store is closed only after the group, after the last commit.
struct SchedulerService: Service {
    let runtime: CoordinatorRuntime
    let window: ReconnectWindow
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        let milliseconds = window.value
        logger.info(
            "coordinator draining",
            metadata: [
                "reason": "\(window.wasRequested ? "drain request" : "shutdown")", "reconnectWithinMs": "\(milliseconds)",
            ])
        await runtime.stop(reconnectWithinMilliseconds: milliseconds)
    }
}

/// The bound worker port as a service: accepts workers until graceful shutdown, then closes
/// the listening channel (connected workers stay until the scheduler tells them to go).
struct WorkerListenerService: Service {
    let channel: any Channel

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// Starts a graceful shutdown of the coordinator's services from inside them
/// (`POST /v1/admin/drain`), once the group exists.
final class ShutdownTrigger: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)

    func set(_ group: ServiceGroup) {
        self.group.withLock { $0 = group }
    }

    func trigger() async {
        let group = self.group.withLock { $0 }
        await group?.triggerGracefulShutdown()
    }
}
