import Foundation
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import TetherEngine
import TetherProtocol

/// One worker connection, after TLS: the challenge/Hello handshake, then frames to and from
/// the runtime. Runs on the connection's event loop.
final class WorkerConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Tether_V1_Frame
    typealias OutboundOut = Tether_V1_Frame

    enum State {
        /// TCP accepted, TLS in progress.
        case connecting
        /// Challenge sent, waiting for Hello.
        case challenged(nonce: [UInt8])
        /// Hello accepted locally; the runtime is registering the functions.
        case registering
        case registered
        case closed
    }

    private let runtime: CoordinatorRuntime
    private let limiter: HandshakeLimiter
    /// This connection's place in the limiter, shared with the ``HandshakeGate`` before it.
    private let ticket: HandshakeTicket
    private let connectionId: String
    private let logger: Logger
    private var state: State = .connecting
    private var handshakeTimeout: Scheduled<Void>?

    init(runtime: CoordinatorRuntime, limiter: HandshakeLimiter, ticket: HandshakeTicket, connectionId: String, logger: Logger) {
        self.runtime = runtime
        self.limiter = limiter
        self.ticket = ticket
        self.connectionId = connectionId
        var logger = logger
        logger[metadataKey: "connection"] = "\(connectionId)"
        self.logger = logger
    }

    /// Runs once the ``HandshakeGate`` let the connection through.
    func channelActive(context: ChannelHandlerContext) {
        let timeout = runtime.configuration.handshakeTimeoutMilliseconds
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        handshakeTimeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout))) {
            let (handler, context) = loopBound.value
            if case .connecting = handler.state {
                // TLS never finished: no frame can be sent, so just close (and free the slot).
                handler.state = .closed
                handler.releaseHandshakeSlot()
                handler.runtime.metrics.recordHandshakeRejected(code: ErrorCode.handshakeTimeout.rawValue)
                context.close(promise: nil)
                return
            }
            handler.fail(context: context, code: .handshakeTimeout, message: "no Hello within \(timeout) ms", reject: true)
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent, case .connecting = state {
            if limiter.hold(of: ticket) == .rejectSlot {
                let retryAfter = UInt32.random(in: 1_000...5_000)
                fail(
                    context: context, code: .overloaded,
                    message: "too many workers are connecting at once; retry after \(retryAfter) ms", reject: true,
                    retryAfter: retryAfter)
                return
            }
            let nonce = HandshakeProof.makeNonce()
            state = .challenged(nonce: nonce)
            context.writeAndFlush(wrapOutboundOut(.challenge(nonce: nonce, coordinatorVersion: runtime.configuration.version)), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch (state, frame.kind) {
        case (.challenged(let nonce), .hello(let hello)):
            handleHello(hello, nonce: nonce, context: context)
        case (.registered, .heartbeat(let heartbeat)):
            let deadline = runtime.configuration.clock() + Int64(runtime.configuration.timing.leaseDurationMilliseconds)
            context.writeAndFlush(
                wrapOutboundOut(
                    .with {
                        $0.heartbeatAck = .with {
                            $0.sequence = heartbeat.sequence
                            $0.leaseDeadlineUnixMs = deadline
                        }
                    }), promise: nil)
            let runtime = self.runtime
            let connectionId = self.connectionId
            runtime.loop.execute {
                runtime.heartbeat(connectionId: connectionId, inFlight: heartbeat.inFlightRequestIds)
            }
        case (.registered, .stepResult(let result)):
            let runtime = self.runtime
            let connectionId = self.connectionId
            runtime.loop.execute { runtime.handleResult(connectionId: connectionId, result: result) }
        case (.registered, .capacityUpdate(let update)):
            let runtime = self.runtime
            let connectionId = self.connectionId
            runtime.loop.execute { runtime.updateCapacity(connectionId: connectionId, capacity: Int(update.capacity)) }
        case (.registered, .pause):
            let runtime = self.runtime
            let connectionId = self.connectionId
            runtime.loop.execute { runtime.pause(connectionId: connectionId) }
        case (.registered, .goodbye(let goodbye)):
            logger.info("worker said goodbye", metadata: ["reason": "\(goodbye.reason)"])
            state = .closed
            context.close(promise: nil)
        case (.registering, .stepResult), (.registering, .heartbeat):
            // The worker only sends these after Welcome, which the runtime sends after
            // registering; anything earlier is a protocol violation.
            fail(context: context, code: .protocolError, message: "\(frame.kindName) before Welcome", reject: false)
        case (.closed, _):
            break
        default:
            fail(context: context, code: .protocolError, message: "unexpected \(frame.kindName) frame", reject: false)
        }
    }

    private func handleHello(_ hello: Tether_V1_Hello, nonce: [UInt8], context: ChannelHandlerContext) {
        guard hello.protocolMajor == ProtocolVersion.major else {
            fail(
                context: context, code: .unsupportedVersion,
                message: "protocol version \(hello.protocolMajor) is not supported; this coordinator speaks \(ProtocolVersion.major)",
                reject: true)
            return
        }
        let proof = Array(hello.proof)
        guard runtime.configuration.signingKeys.contains(where: {
            HandshakeProof.verify(proof, key: $0, nonce: nonce, instanceId: hello.instanceID)
        }) else {
            logger.warning("worker rejected: wrong signing key", metadata: ["instance": "\(hello.instanceID)"])
            fail(
                context: context, code: .unauthenticated,
                message: "the handshake proof does not match the coordinator's signing key (check TETHER_SIGNING_KEY)",
                reject: true)
            return
        }
        guard !hello.instanceID.isEmpty, hello.instanceID.utf8.count <= 256 else {
            fail(context: context, code: .invalidConfig, message: "instance id must be 1-256 bytes", reject: true)
            return
        }
        let registration = WorkerRegistration(
            connectionId: connectionId, instanceId: hello.instanceID, app: hello.appName, appVersion: hello.appVersion,
            sdk: "\(hello.sdkName)/\(hello.sdkVersion)", capacity: Int(hello.capacity), labels: hello.labels,
            functions: hello.functions.map { FunctionDefinition($0, app: hello.appName) })
        state = .registering
        let connection = WorkerConnection(id: connectionId, instanceId: hello.instanceID, channel: context.channel)
        let runtime = self.runtime
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        runtime.loop.execute {
            let result = runtime.register(registration, connection: connection)
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.registrationFinished(result, context: context)
            }
        }
    }

    private func registrationFinished(_ result: Result<Void, TetherError>, context: ChannelHandlerContext) {
        guard case .registering = state else { return }
        handshakeTimeout?.cancel()
        releaseHandshakeSlot()
        switch result {
        case .success:
            state = .registered
            runtime.metrics.handshakesAccepted.increment()
        case .failure(let error):
            logger.warning("worker rejected", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            let retryAfter: UInt32 = error.code == .draining || error.code == .storageUnavailable ? UInt32.random(in: 1_000...5_000) : 0
            fail(context: context, code: error.code, message: error.message, reject: true, retryAfter: retryAfter)
        }
    }

    /// Ends the connection with a Reject (during the handshake) or an ErrorFrame.
    private func fail(context: ChannelHandlerContext, code: ErrorCode, message: String, reject: Bool, retryAfter: UInt32 = 0) {
        if case .closed = state { return }
        let wasRegistered: Bool
        if case .registered = state { wasRegistered = true } else { wasRegistered = false }
        state = .closed
        handshakeTimeout?.cancel()
        releaseHandshakeSlot()
        if !wasRegistered { runtime.metrics.recordHandshakeRejected(code: code.rawValue) }
        let frame: Tether_V1_Frame =
            reject && !wasRegistered
            ? .reject(code: code, message: message, retryAfterMilliseconds: retryAfter)
            : .error(code: code, message: message)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? ProtocolError {
            logger.warning("protocol error from worker", metadata: ["code": "\(error.code)", "error": "\(error.message)"])
            fail(context: context, code: error.code, message: error.message, reject: false)
        } else {
            // TLS failures (plaintext, garbage) and I/O errors: nothing useful can be sent.
            logger.debug("worker connection error", metadata: ["error": "\(error)"])
            if case .connecting = state { runtime.metrics.recordHandshakeRejected(code: "tls") }
            state = .closed
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        releaseHandshakeSlot()
        state = .closed
        let runtime = self.runtime
        let connectionId = self.connectionId
        runtime.loop.execute { runtime.disconnect(connectionId: connectionId) }
        context.fireChannelInactive()
    }

    private func releaseHandshakeSlot() {
        limiter.release(ticket)
    }
}
