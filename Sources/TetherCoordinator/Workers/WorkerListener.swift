import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TetherEngine
import TetherProtocol

/// Accepts worker connections: TCP, then TLS 1.3, then length-prefixed frames.
struct WorkerListener {
    let configuration: CoordinatorConfiguration
    let runtime: CoordinatorRuntime
    let limiter: HandshakeLimiter
    let group: any EventLoopGroup
    let logger: Logger

    /// Loads the certificate and key and builds the TLS 1.3 server context. `shutdownTimeout`
    /// bounds how long a close waits for the peer's `close_notify`.
    static func makeTLSContext(
        configuration: CoordinatorConfiguration, shutdownTimeout: TimeAmount = .seconds(5)
    ) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(configuration.tlsCertificatePath)
        } catch {
            throw TetherError(.invalidInput, "cannot read the TLS certificate \(configuration.tlsCertificatePath): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: configuration.tlsPrivateKeyPath, format: .pem)
        } catch {
            throw TetherError(.invalidInput, "cannot read the TLS private key \(configuration.tlsPrivateKeyPath): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv13
        tls.shutdownTimeout = shutdownTimeout
        return try NIOSSLContext(configuration: tls)
    }

    /// Binds the listener and returns its channel.
    func bind() async throws -> any Channel {
        let sslContext = try Self.makeTLSContext(configuration: configuration)
        let runtime = self.runtime
        let limiter = self.limiter
        let logger = self.logger
        let maxFrameBytes = configuration.limits.maxFrameBytes
        let metrics = runtime.metrics
        // A queued connection gives up after half the handshake timeout, leaving the other half for TLS and Hello.
        let queueTimeout = max(1, configuration.handshakeTimeoutMilliseconds / 2)
        let preHandshakeTimeout = max(1, configuration.preHandshakeTimeoutMilliseconds)
        let preHandshake = limiter.preHandshake
        let ids = Mutex(IDGenerator())
        let host = configuration.workerHost ?? configuration.host
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4_096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            // Idle workers send a heartbeat of a few dozen bytes every few seconds: start each
            // connection's receive buffer small (NIO's default is 2 KiB, held per connection),
            // and let it grow to 64 KiB for step results.
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536))
            // The HandshakeGate reads the ClientHello itself, then nothing more (so TLS does not
            // start) until the limiter grants a slot.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ticket = HandshakeTicket()
                    // Only the gate until the connection has a handshake slot; it adds the rest.
                    try channel.pipeline.syncOperations.addHandler(
                        HandshakeGate(
                            limiter: limiter, ticket: ticket, preHandshake: preHandshake,
                            preHandshakeTimeoutMilliseconds: preHandshakeTimeout,
                            queueTimeoutMilliseconds: queueTimeout,
                            recordRejected: { metrics.recordHandshakeRejected(code: $0) },
                            makeHandlers: {
                                let now = WallClock.nowMilliseconds()
                                let connectionId = ids.withLock { $0.next(nowMilliseconds: now) }
                                return [
                                    NIOSSLServerHandler(context: sslContext),
                                    ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)),
                                    MessageToByteHandler(FrameEncoder()),
                                    WorkerConnectionHandler(
                                        runtime: runtime, limiter: limiter, ticket: ticket, connectionId: connectionId,
                                        logger: logger),
                                ]
                            }))
                }
            }
            .bind(host: host, port: configuration.workerPort).get()
    }
}
