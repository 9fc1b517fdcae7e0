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
    /// The address this connection dialled.
    private let target: CoordinatorDialPlan.Target
    private let ended: EventLoopPromise<Worker.SessionEnd>
    private var machine = StateMachine()
    private var finished = false
    private var heartbeatTask: Scheduled<Void>?
    private var heartbeatSequence: UInt64 = 0
    private var schedule = HeartbeatSchedule(intervalMilliseconds: 5_000, jitter: 0.2)
    private var silenceLimitNanoseconds: Int64 = 15_000_000_000
    private var lastHeardFrom = NIODeadline.now()
    private var random = SystemRandomNumberGenerator()

    init(worker: Worker, key: SigningKey, target: CoordinatorDialPlan.Target, ended: EventLoopPromise<Worker.SessionEnd>) {
        self.worker = worker
        self.key = key
        self.target = target
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
        switch machine.frameReceived(frame) {
        case .sendHello(let nonce):
            context.writeAndFlush(wrapOutboundOut(worker.hello(nonce: nonce, key: key)), promise: nil)
        case .welcomed(let welcome):
            schedule = HeartbeatSchedule(
                intervalMilliseconds: Int(max(welcome.heartbeatIntervalMs, 100)), jitter: welcome.heartbeatJitter)
            silenceLimitNanoseconds = Int64(max(welcome.heartbeatIntervalMs, 100)) * 3 * 1_000_000
            worker.welcomed(
                channel: context.channel, connectionId: welcome.connectionID,
                maxFrameBytes: welcome.maxFrameBytes > 0 ? Int(welcome.maxFrameBytes) : Limits.default.maxFrameBytes,
                address: target)
            scheduleHeartbeat(context: context, first: true)
        case .startStep(let request):
            worker.start(request)
        case .acknowledge(let requestId):
            worker.acknowledged(requestId: requestId)
        case .none:
            break
        case .finish(let end):
            if case .closed(let reason, _) = end, reason.hasPrefix("protocol violation") {
                worker.logger.warning("closing the connection", metadata: ["reason": "\(reason)"])
            }
            finish(end, context: context)
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
        if case .finish(let end) = machine.closed(reason: "connection closed") { finish(end, context: context) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        worker.logger.warning("connection error", metadata: ["error": "\(error)"])
        if case .finish(let end) = machine.closed(reason: "\(error)") { finish(end, context: context) }
    }
}
