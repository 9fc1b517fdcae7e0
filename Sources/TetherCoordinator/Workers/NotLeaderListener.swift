import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TetherEngine
import TetherProtocol

/// The worker port of a standby coordinator in a cluster: it registers no worker, and answers
/// every connection, right after the TLS handshake and in place of the `Challenge`, with one
/// `Reject` of code `not_leader` naming the leader's worker address, then closes it. A worker
/// follows it to the leader (docs/protocol.md, "Clusters: following the leader").
///
/// It binds `configuration.workerHost ?? configuration.host` and `configuration.workerPort`
/// (0: any free port) with the worker listener's TLS certificate and key, so a worker verifies
/// a standby as it verifies the leader. Hostile or broken peers cost little and never for long:
///
/// - Connections pass the same ``HandshakeGate`` as the worker listener's, with a limiter of
///   their own built from `configuration.timing`: bytes that cannot start a TLS ClientHello
///   close the connection at once, and TLS handshakes at once are bounded (a storm of workers
///   redirected after a failover waits before TLS rather than starving the event loops).
/// - Every connection is closed at most ``connectionTimeoutMilliseconds`` after it was accepted
///   (`min(5 s, preHandshakeTimeoutMilliseconds, handshakeTimeoutMilliseconds)`), whatever it
///   sends or does not send, plus at most 1 s for the TLS close.
/// - Nothing the peer sends after TLS is read as a frame: it is dropped.
///
/// ```swift
/// let standby = NotLeaderListener(configuration: configuration, leaderWorkerAddress: { election.leaderWorkerAddress },
///                                 logger: logger)
/// let port = try await standby.bind()
/// // … on becoming the leader:
/// await standby.close()
/// ```
public final class NotLeaderListener: Sendable {
    /// Counters, for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        /// Connections accepted.
        public var accepted = 0
        /// Connections answered `Reject not_leader`. The others were closed unanswered: not TLS,
        /// a failed TLS handshake, too slow, or refused by the limiter.
        public var answered = 0
        /// Of the answered ones, those told the leader's address.
        public var redirected = 0
    }

    /// The longest any connection stays open: `min(5 s, pre-handshake timeout, handshake timeout)`.
    public let connectionTimeoutMilliseconds: Int

    private let configuration: CoordinatorConfiguration
    private let leaderWorkerAddress: @Sendable () -> String?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let limiter: HandshakeLimiter
    private let state = Mutex(State())

    private struct State {
        var server: (any Channel)?
        var closed = false
        /// Open connections, closed with the listener.
        var connections: [ObjectIdentifier: any Channel] = [:]
        var statistics = Statistics()
    }

    /// Creates the listener; ``bind()`` opens the port.
    ///
    /// - Parameter leaderWorkerAddress: the leader's worker address, `host:port`, as workers
    ///   should dial it; nil (or empty) while no leader is known. Called once per connection, on
    ///   an event loop: it must be quick and must not block.
    public init(
        configuration: CoordinatorConfiguration,
        leaderWorkerAddress: @escaping @Sendable () -> String?,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.leaderWorkerAddress = leaderWorkerAddress
        self.group = group
        self.logger = logger
        self.connectionTimeoutMilliseconds = max(
            100, min(5_000, configuration.preHandshakeTimeoutMilliseconds, configuration.handshakeTimeoutMilliseconds))
        self.limiter = HandshakeLimiter(
            limit: configuration.timing.maxConcurrentHandshakes, maxQueued: configuration.timing.maxQueuedHandshakes,
            maxPreHandshake: configuration.timing.maxPreHandshakeConnections)
    }

    /// Counters since ``bind()``.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Binds the port and starts answering; returns the port bound (the one picked by the system
    /// when `configuration.workerPort` is 0).
    ///
    /// - Throws: `invalid_input` for a TLS certificate or key that cannot be read, `conflict`
    ///   when already bound or closed, or the socket's error (the port is taken, say).
    public func bind() async throws -> Int {
        let sslContext = try WorkerListener.makeTLSContext(configuration: configuration, shutdownTimeout: .seconds(1))
        try state.withLock { state in
            guard state.server == nil, !state.closed else {
                throw TetherError(.conflict, "this NotLeaderListener is already bound or closed; create a new one")
            }
        }
        let timeout = connectionTimeoutMilliseconds
        let limiter = self.limiter
        let preHandshake = limiter.preHandshake
        let host = configuration.workerHost ?? configuration.host
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4_096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 16_384))
            // The gate reads the ClientHello itself (see WorkerListener).
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accepted(channel)
                    let ticket = HandshakeTicket()
                    try channel.pipeline.syncOperations.addHandler(
                        HandshakeGate(
                            limiter: limiter, ticket: ticket, preHandshake: preHandshake,
                            preHandshakeTimeoutMilliseconds: timeout,
                            queueTimeoutMilliseconds: max(1, timeout / 2),
                            recordRejected: { _ in },
                            makeHandlers: {
                                [
                                    NIOSSLServerHandler(context: sslContext),
                                    MessageToByteHandler(FrameEncoder()),
                                    NotLeaderConnectionHandler(
                                        limiter: limiter, ticket: ticket,
                                        reject: { [self] in self.reject() }),
                                ]
                            }))
                }
            }
            .bind(host: host, port: configuration.workerPort).get()
        let lateClose = state.withLock { state -> Bool in
            if state.closed { return true }
            state.server = server
            return false
        }
        if lateClose {
            try? await server.close()
            throw TetherError(.conflict, "this NotLeaderListener was closed while binding")
        }
        let port = server.localAddress?.port ?? configuration.workerPort
        logger.info("standby worker listener bound: answering not_leader", metadata: ["workers": "\(host):\(port)"])
        return port
    }

    /// Stops accepting and closes every open connection. Safe to call more than once, and
    /// before ``bind()``.
    public func close() async {
        let (server, connections) = state.withLock { state -> ((any Channel)?, [any Channel]) in
            state.closed = true
            let server = state.server
            state.server = nil
            let connections = Array(state.connections.values)
            state.connections = [:]
            return (server, connections)
        }
        try? await server?.close()
        for connection in connections {
            connection.close(promise: nil)
        }
    }

    /// A connection was accepted: count it, and close it at the deadline whatever it does.
    private func accepted(_ channel: any Channel) throws {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.connections[id] = channel
            state.statistics.accepted += 1
            return true
        }
        guard admitted else { throw ChannelError.ioOnClosedChannel }
        let deadline = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(connectionTimeoutMilliseconds))) {
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { [self] _ in
            deadline.cancel()
            _ = state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    /// The Reject for a connection whose TLS handshake just completed.
    private func reject() -> Tether_V1_Frame {
        let leader = leaderWorkerAddress() ?? ""
        state.withLock { state in
            state.statistics.answered += 1
            if !leader.isEmpty { state.statistics.redirected += 1 }
        }
        if leader.isEmpty {
            let retryAfter = UInt32.random(in: 200...1_000)
            return .notLeader(
                message: "this coordinator is a standby and knows no leader yet; retry after \(retryAfter) ms",
                leaderWorkerAddress: "", retryAfterMilliseconds: retryAfter)
        }
        return .notLeader(
            message: "this coordinator is a standby; the leader's worker address is \(leader)", leaderWorkerAddress: leader)
    }
}
