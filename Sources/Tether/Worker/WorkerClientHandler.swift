import Foundation
import NIOCore
import NIOSSL
import TetherEngine
import TetherProtocol

/// The worker's side of one connection, on its event loop: answers the challenge, sends
/// jittered heartbeats, watches for a silent coordinator and hands step requests to the worker.
final class WorkerClientHandler: ChannelInboundHandler {
    typealias InboundIn = Tether_V1_Frame
    typealias OutboundOut = Tether_V1_Frame

    private let worker: Worker
    private let key: SigningKey
    private let ended: EventLoopPromise<Worker.SessionEnd>
    private var welcomed = false
    private var finished = false
    private var heartbeatTask: Scheduled<Void>?
    private var heartbeatSequence: UInt64 = 0
    private var schedule = HeartbeatSchedule(intervalMilliseconds: 5_000, jitter: 0.2)
    private var silenceLimitNanoseconds: Int64 = 15_000_000_000
    private var lastHeardFrom = NIODeadline.now()
    private var random = SystemRandomNumberGenerator()

    init(worker: Worker, key: SigningKey, ended: EventLoopPromise<Worker.SessionEnd>) {
        self.worker = worker
        self.key = key
        self.ended = ended
    }

    private func finish(_ end: Worker.SessionEnd, context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        heartbeatTask?.cancel()
        ended.succeed(end)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastHeardFrom = .now()
        switch frame.kind {
        case .challenge(let challenge):
            guard challenge.protocolMajor == ProtocolVersion.major else {
                finish(
                    .rejected(
                        code: .unsupportedVersion,
                        message: "the coordinator speaks protocol \(challenge.protocolMajor); this SDK speaks \(ProtocolVersion.major)",
                        retryAfterMilliseconds: 0), context: context)
                return
            }
            context.writeAndFlush(wrapOutboundOut(worker.hello(nonce: Array(challenge.nonce), key: key)), promise: nil)
        case .welcome(let welcome):
            welcomed = true
            schedule = HeartbeatSchedule(
                intervalMilliseconds: Int(max(welcome.heartbeatIntervalMs, 100)), jitter: welcome.heartbeatJitter)
            silenceLimitNanoseconds = Int64(max(welcome.heartbeatIntervalMs, 100)) * 3 * 1_000_000
            worker.welcomed(
                channel: context.channel, connectionId: welcome.connectionID,
                maxFrameBytes: welcome.maxFrameBytes > 0 ? Int(welcome.maxFrameBytes) : Limits.default.maxFrameBytes)
            scheduleHeartbeat(context: context, first: true)
        case .reject(let reject):
            finish(
                .rejected(code: ErrorCode(reject.code), message: reject.message, retryAfterMilliseconds: reject.retryAfterMs),
                context: context)
        case .stepRequest(let request):
            worker.start(request)
        case .stepResultAck(let ack):
            worker.acknowledged(requestId: ack.requestID)
        case .heartbeatAck:
            break
        case .reconnect(let reconnect):
            finish(.reconnect(withinMilliseconds: reconnect.withinMs), context: context)
        case .error(let error):
            finish(.closed(reason: "coordinator error \(error.code): \(error.message)", wasWelcomed: welcomed), context: context)
        default:
            worker.logger.warning("unexpected frame from the coordinator", metadata: ["kind": "\(frame.kindName)"])
        }
    }

    private func scheduleHeartbeat(context: ChannelHandlerContext, first: Bool) {
        let delay = first ? schedule.firstDelay(using: &random) : schedule.nextDelay(using: &random)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        heartbeatTask = context.eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) {
            let (handler, context) = loopBound.value
            handler.beat(context: context)
        }
    }

    private func beat(context: ChannelHandlerContext) {
        guard !finished else { return }
        if (NIODeadline.now() - lastHeardFrom).nanoseconds > silenceLimitNanoseconds {
            finish(.closed(reason: "no word from the coordinator for 3 heartbeat intervals", wasWelcomed: true), context: context)
            return
        }
        heartbeatSequence += 1
        context.writeAndFlush(wrapOutboundOut(worker.heartbeatFrame(sequence: heartbeatSequence)), promise: nil)
        scheduleHeartbeat(context: context, first: false)
    }

    func channelInactive(context: ChannelHandlerContext) {
        worker.disconnected(channel: context.channel)
        finish(.closed(reason: "connection closed", wasWelcomed: welcomed), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        worker.logger.warning("connection error", metadata: ["error": "\(error)"])
        finish(.closed(reason: "\(error)", wasWelcomed: welcomed), context: context)
    }
}
