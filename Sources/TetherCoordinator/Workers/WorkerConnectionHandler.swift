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

    private let runtime: CoordinatorRuntime
    private let limiter: HandshakeLimiter
    /// This connection's place in the limiter, shared with the ``HandshakeGate`` before it.
    private let ticket: HandshakeTicket
    private let connectionId: String
    private let logger: Logger
    private var machine = StateMachine()
    private var handshakeTimeout: Scheduled<Void>?
    /// The runtime's handle to this connection, once the Hello is accepted.
    private var connection: WorkerConnection?
    /// The in-flight list of the last heartbeat passed to the scheduler.
    private var lastForwardedInFlight: [String] = []
    /// The worker accepts sparse acks of idle heartbeats (protocol minor 1 or later).
    private var sparseIdleAcks = false
    /// Whether the last heartbeat got a HeartbeatAck.
    private var lastHeartbeatAcked = false

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
            if handler.machine.isConnecting {
                // TLS never finished: no frame can be sent, so just close (and free the slot).
                _ = handler.machine.close()
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
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent, machine.isConnecting {
            if limiter.hold(of: ticket) == .rejectSlot {
                let retryAfter = UInt32.random(in: 1_000...5_000)
                fail(
                    context: context, code: .overloaded,
                    message: "too many workers are connecting at once; retry after \(retryAfter) ms", reject: true,
                    retryAfter: retryAfter)
                return
            }
            let nonce = HandshakeProof.makeNonce()
            if machine.tlsCompleted(nonce: nonce) {
                context.writeAndFlush(
                    wrapOutboundOut(.challenge(nonce: nonce, coordinatorVersion: runtime.configuration.version)),
                    promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handle(unwrapInboundIn(data), context: context)
    }

    private func handle(_ frame: Tether_V1_Frame, context: ChannelHandlerContext) {
        switch machine.frameReceived(frame) {
        case .verifyHello(let hello, let nonce):
            handleHello(hello, nonce: nonce, context: context)
        case .forward(let frame):
            forward(frame, context: context)
        case .goodbye(let reason):
            logger.info("worker said goodbye", metadata: ["reason": "\(LogText.escaped(reason))"])
            let runtime = self.runtime
            let connectionId = self.connectionId
            runtime.loop.execute { runtime.goodbye(connectionId: connectionId) }
            context.close(promise: nil)
        case .hold, .ignore:
            break
        case .fail(let code, let message):
            fail(context: context, code: code, message: message, reject: false)
        }
    }

    /// Passes a frame of a registered connection to the runtime, in order.
    private func forward(_ frame: Tether_V1_Frame, context: ChannelHandlerContext) {
        let runtime = self.runtime
        let connectionId = self.connectionId
        switch frame.kind {
        case .heartbeat(let heartbeat):
            let now = runtime.configuration.clock()
            let inFlight = heartbeat.inFlightRequestIds
            // An idle heartbeat: nothing in flight now or at the last one passed on.
            let idle = inFlight.isEmpty && lastForwardedInFlight.isEmpty
            // Writing the ack is most of what an idle heartbeat costs the coordinator (a TLS
            // record, a send, the peer's wake-up): a worker that accepts it gets one for every
            // other idle heartbeat only, which still keeps it well within its silence limit.
            if idle && sparseIdleAcks && lastHeartbeatAcked {
                lastHeartbeatAcked = false
            } else {
                let deadline = now + Int64(runtime.configuration.timing.leaseDurationMilliseconds)
                context.writeAndFlush(
                    wrapOutboundOut(
                        .with {
                            $0.heartbeatAck = .with {
                                $0.sequence = heartbeat.sequence
                                $0.leaseDeadlineUnixMs = deadline
                            }
                        }), promise: nil)
                lastHeartbeatAcked = true
            }
            connection?.lastHeartbeat.store(now, ordering: .relaxed)
            // An idle heartbeat changes nothing but the connection's time: it stays here.
            // Leases to renew, or a list that changed, go to the scheduler.
            if idle { return }
            lastForwardedInFlight = inFlight
            runtime.loop.execute {
                runtime.heartbeat(connectionId: connectionId, inFlight: inFlight)
            }
        case .stepResult(let result):
            // Converted (outputs parsed as JSON: up to 4 MiB) here, on the connection's loop,
            // so the scheduler's loop only applies it.
            let outcome: StepOutcome
            do {
                outcome = try StepOutcome(result)
            } catch {
                fail(context: context, code: error.code, message: error.message, reject: false)
                return
            }
            let (requestId, runId) = (result.requestID, result.runID)
            runtime.loop.execute {
                runtime.handleResult(connectionId: connectionId, requestId: requestId, runId: runId, outcome: outcome)
            }
        case .capacityUpdate(let update):
            runtime.loop.execute { runtime.updateCapacity(connectionId: connectionId, capacity: Int(update.capacity)) }
        case .pause:
            runtime.loop.execute { runtime.pause(connectionId: connectionId) }
        default:
            break
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
        // Bounded before anything reads, logs or keeps the Hello's strings.
        if let problem = hello.boundsProblem(limits: runtime.configuration.limits) {
            fail(context: context, code: .invalidConfig, message: problem, reject: true)
            return
        }
        let proof = Array(hello.proof)
        guard runtime.configuration.signingKeys.contains(where: {
            HandshakeProof.verify(proof, key: $0, nonce: nonce, instanceId: hello.instanceID)
        }) else {
            logger.warning("worker rejected: wrong signing key", metadata: ["instance": "\(LogText.escaped(hello.instanceID))"])
            fail(
                context: context, code: .unauthenticated,
                message: "the handshake proof does not match the coordinator's signing key (check TETHER_SIGNING_KEY)",
                reject: true)
            return
        }
        let registration = WorkerRegistration(
            connectionId: connectionId, instanceId: hello.instanceID, app: hello.appName, appVersion: hello.appVersion,
            sdk: "\(hello.sdkName)/\(hello.sdkVersion)", capacity: Int(hello.capacity), labels: hello.labels,
            functions: hello.functions.map { FunctionDefinition($0, app: hello.appName) },
            resumed: hello.resumed.map {
                ResumedRequest(requestId: $0.requestID, runId: $0.runID, resultHeld: $0.resultHeld)
            })
        machine.helloAccepted()
        let connection = WorkerConnection(id: connectionId, instanceId: hello.instanceID, channel: context.channel)
        self.connection = connection
        sparseIdleAcks = hello.protocolMinor >= ProtocolVersion.sparseIdleAcks
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
        guard machine.isRegistering else { return }
        handshakeTimeout?.cancel()
        releaseHandshakeSlot()
        switch result {
        case .success:
            runtime.metrics.handshakesAccepted.increment()
            // Frames the worker sent in answer to Welcome before this loop heard of it.
            for frame in machine.registrationSucceeded() ?? [] {
                handle(frame, context: context)
            }
        case .failure(let error):
            logger.warning(
                "worker rejected", metadata: ["code": "\(error.code)", "reason": "\(LogText.escaped(error.message, max: 512))"])
            let retryAfter: UInt32 = error.code == .draining || error.code == .storageUnavailable ? UInt32.random(in: 1_000...5_000) : 0
            fail(context: context, code: error.code, message: error.message, reject: true, retryAfter: retryAfter)
        }
    }

    /// Ends the connection with a Reject (during the handshake) or an ErrorFrame.
    private func fail(context: ChannelHandlerContext, code: ErrorCode, message: String, reject: Bool, retryAfter: UInt32 = 0) {
        if machine.isClosed { return }
        let wasRegistered = machine.close()
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
        if let error = error as? TetherError {
            logger.warning(
                "protocol error from worker", metadata: ["code": "\(error.code)", "error": "\(LogText.escaped(error.message, max: 512))"])
            fail(context: context, code: error.code, message: error.message, reject: false)
        } else {
            // TLS failures (plaintext, garbage) and I/O errors: nothing useful can be sent.
            logger.debug("worker connection error", metadata: ["error": "\(error)"])
            if machine.isConnecting { runtime.metrics.recordHandshakeRejected(code: "tls") }
            _ = machine.close()
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        releaseHandshakeSlot()
        _ = machine.close()
        let runtime = self.runtime
        let connectionId = self.connectionId
        runtime.loop.execute { runtime.disconnect(connectionId: connectionId) }
        context.fireChannelInactive()
    }

    private func releaseHandshakeSlot() {
        limiter.release(ticket)
    }
}
