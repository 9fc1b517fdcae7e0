import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import TetherEngine
import TetherProtocol

extension Worker {
    /// How one connection ended.
    enum SessionEnd: Sendable, Equatable {
        case closed(reason: String, wasWelcomed: Bool)
        case rejected(code: ErrorCode, message: String, retryAfterMilliseconds: UInt32)
        /// `Reject not_leader`: a standby of a cluster; `leaderWorkerAddress` names the leader,
        /// or is empty when the standby knows none (it is as the coordinator sent it, unchecked).
        case notLeader(message: String, leaderWorkerAddress: String, retryAfterMilliseconds: UInt32)
        case reconnect(withinMilliseconds: UInt32)
    }

    /// Opens one connection to `target` and serves it until it ends.
    func runSession(key: SigningKey, target: CoordinatorDialPlan.Target, sslContext: NIOSSLContext) async -> SessionEnd {
        let ended = group.any().makePromise(of: SessionEnd.self)
        let endpoint = target.address
        // The certificate is checked against the name dialled, also when the dial connects to
        // one of its resolved addresses.
        let hostname = options.serverHostname ?? (AddressResolver.isIPAddress(endpoint.host) ? nil : endpoint.host)
        let connectTimeout = TimeAmount.nanoseconds(Int64(options.connectTimeout.components.seconds) * 1_000_000_000)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: hostname))
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: Limits.default.maxWorkerFrameBytes)))
                    try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                    try sync.addHandler(WorkerClientHandler(worker: self, key: key, target: target, ended: ended))
                }
            }
        do {
            let channel: any Channel
            if let resolved = target.resolvedHost {
                channel = try await bootstrap.connect(to: SocketAddress(ipAddress: resolved, port: endpoint.port)).get()
            } else {
                channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
            }
            // Give up on a coordinator that never finishes the handshake.
            let timeout = channel.eventLoop.scheduleTask(in: connectTimeout) {
                if self.state.withLock({ $0.channel == nil }) {
                    ended.succeed(.closed(reason: "handshake timed out", wasWelcomed: false))
                    channel.close(promise: nil)
                }
            }
            let end = try await ended.futureResult.get()
            timeout.cancel()
            channel.close(promise: nil)
            return end
        } catch {
            ended.succeed(.closed(reason: "\(error)", wasWelcomed: false))
            return .closed(reason: "cannot connect to \(target): \(error)", wasWelcomed: false)
        }
    }

    /// The Hello answering a challenge.
    ///
    /// It lists the requests still running and the results not yet acknowledged, so the
    /// coordinator gives them back to this connection rather than sending them elsewhere
    /// (resumable sessions), and counts the running ones against the capacity.
    func hello(nonce: [UInt8], key: SigningKey) -> Tether_V1_Frame {
        let (capacity, resumed) = state.withLock { state in
            let running = state.inFlight.sorted { $0.key < $1.key }.map { requestId, runId in
                Tether_V1_ResumedRequest.with {
                    $0.requestID = requestId
                    $0.runID = runId
                }
            }
            let held = state.unacknowledgedOrder.compactMap { requestId -> Tether_V1_ResumedRequest? in
                guard let frame = state.unacknowledged[requestId] else { return nil }
                return .with {
                    $0.requestID = requestId
                    $0.runID = frame.stepResult.runID
                    $0.resultHeld = true
                }
            }
            return (state.draining ? 0 : state.capacity, running + held)
        }
        var frame = Tether_V1_Frame()
        frame.hello = .with {
            $0.protocolMajor = ProtocolVersion.major
            $0.protocolMinor = ProtocolVersion.minor
            $0.instanceID = options.instanceId
            $0.appName = app
            $0.appVersion = options.appVersion
            $0.sdkName = "tether-swift"
            $0.sdkVersion = TetherSDK.version
            $0.functions = functions.flatMap { $0.configs(app: app) }
            $0.capacity = UInt32(clamping: capacity)
            $0.labels = options.labels
            $0.proof = Data(HandshakeProof.compute(key: key, nonce: nonce, instanceId: options.instanceId))
            $0.maxFrameBytes = UInt32(Limits.default.maxWorkerFrameBytes)
            $0.resumed = resumed
        }
        return frame
    }

    /// The coordinator at `address` welcomed this connection: remember it and resend
    /// unacknowledged results.
    func welcomed(channel: any Channel, connectionId: String, maxFrameBytes: Int, address: CoordinatorDialPlan.Target) {
        let pending = state.withLock { state -> [Tether_V1_Frame]? in
            // Shutdown finished while this connection was still in its handshake: it must not stay
            // up (heartbeating, paused) with nobody left to close it. Checked under the same lock
            // as `drain()` sets `stopped` and reads `channel`.
            guard !state.stopped else { return nil }
            state.channel = channel
            state.connectionId = connectionId
            state.coordinatorMaxFrameBytes = maxFrameBytes
            return state.unacknowledgedOrder.compactMap { state.unacknowledged[$0] }
        }
        guard let pending else {
            channel.writeAndFlush(Tether_V1_Frame.goodbye(reason: "shutting down")).whenComplete { _ in
                channel.close(promise: nil)
            }
            return
        }
        logger.info(
            "connected",
            metadata: ["connection": "\(connectionId)", "coordinator": "\(address)", "resending": "\(pending.count)"])
        for frame in pending {
            channel.write(frame, promise: nil)
        }
        if state.withLock({ $0.draining }) {
            var pause = Tether_V1_Frame()
            pause.pause = .with { $0.reason = "shutting down" }
            channel.write(pause, promise: nil)
        }
        channel.flush()
    }

    func disconnected(channel: any Channel) {
        state.withLock { state in
            if state.channel === channel {
                state.channel = nil
                state.connectionId = nil
            }
        }
    }

    /// The heartbeat's content: leased requests (in flight or awaiting an ack) and free slots.
    func heartbeatFrame(sequence: UInt64) -> Tether_V1_Frame {
        state.withLock { state in
            var frame = Tether_V1_Frame()
            frame.heartbeat = .with {
                $0.sequence = sequence
                $0.inFlightRequestIds = Array(state.inFlight.keys)
                $0.availableCapacity = UInt32(clamping: max(0, state.capacity - state.inFlight.count))
            }
            return frame
        }
    }

    /// Runs a dispatched step on its own task and sends the result when done.
    func start(_ request: Tether_V1_StepRequest) {
        let requestId = request.requestID
        let accepted = state.withLock { state -> Bool in
            guard state.inFlight[requestId] == nil, state.unacknowledged[requestId] == nil else { return false }
            state.inFlight[requestId] = request.runID
            return true
        }
        guard accepted else { return }  // a duplicate delivery
        Task {
            await self.executor.execute(request) { result in self.send(result, requestId: requestId) }
        }
    }

    /// Sends a step's result and keeps it until the coordinator acknowledges it.
    private func send(_ result: Tether_V1_StepResult, requestId: String) {
        var frame = Tether_V1_Frame()
        frame.stepResult = result
        let limit = state.withLock { $0.coordinatorMaxFrameBytes }
        // Outputs dominate a result's size: serialize to measure only when they come close.
        if Self.outputBytes(of: result) + Self.resultEnvelopeBytes > limit, let size = (try? frame.serializedBytes() as [UInt8])?.count,
            size > limit
        {
            // The coordinator would refuse the frame and drop the connection: fail the step instead.
            frame.stepResult = Self.fitting(result, frameBytes: size, limit: limit)
        }
        let channel = state.withLock { state -> (any Channel)? in
            state.inFlight[requestId] = nil
            state.stepsExecuted += 1
            state.unacknowledged[requestId] = frame
            state.unacknowledgedOrder.append(requestId)
            return state.channel
        }
        channel?.writeAndFlush(frame, promise: nil)
    }

    /// A generous bound on a result frame's bytes besides its outputs (ids, times, framing).
    static let resultEnvelopeBytes = 64 * 1024

    static func outputBytes(of result: Tether_V1_StepResult) -> Int {
        switch result.outcome {
        case .stepCompleted(let step): step.output.count
        case .runCompleted(let run): run.output.count + run.lastStep.output.count
        case .stepFailed(let step): step.error.message.utf8.count
        case .stepsPlanned(let planned):
            planned.executed.output.count
                + planned.ops.reduce(0) { total, op in
                    switch op.op {
                    case .sendEvent(let send): total + send.events.reduce(0) { $0 + $1.data.count }
                    case .invoke(let invoke): total + invoke.data.count
                    case .run, .sleep, .waitForEvent, nil: total
                    }
                }
        case nil: 0
        }
    }

    /// What to send instead of a result whose frame would be over the coordinator's maximum.
    ///
    /// When the function returned right after a new step, the step alone is sent if it fits: it
    /// is memoized, and the next replay reports the oversized return value on its own.
    /// Otherwise the step (or the function, for its return value) fails, non-retriable.
    static func fitting(_ result: Tether_V1_StepResult, frameBytes: Int, limit: Int) -> Tether_V1_StepResult {
        if case .runCompleted(let run) = result.outcome, run.hasLastStep,
            run.lastStep.output.count + resultEnvelopeBytes <= limit
        {
            var stepOnly = result
            stepOnly.stepCompleted = run.lastStep
            return stepOnly
        }
        var failed = Tether_V1_StepFailed()
        switch result.outcome {
        case .stepCompleted(let step):
            failed.stepID = step.stepID
            failed.startedAtUnixMs = step.startedAtUnixMs
            failed.endedAtUnixMs = step.endedAtUnixMs
        case .runCompleted, nil:
            break  // the return value is what is too large: the function fails (empty step id)
        case .stepFailed(let step):
            failed.stepID = step.stepID
            failed.startedAtUnixMs = step.startedAtUnixMs
            failed.endedAtUnixMs = step.endedAtUnixMs
        case .stepsPlanned(let planned):
            // The executed step (or the first planned one: its events or data) is too large.
            failed.stepID = planned.hasExecuted ? planned.executed.stepID : (planned.ops.first?.stepID ?? "")
            failed.startedAtUnixMs = planned.executed.startedAtUnixMs
            failed.endedAtUnixMs = planned.executed.endedAtUnixMs
        }
        failed.error = .with {
            $0.code = ErrorCode.outputTooLarge.rawValue
            $0.message = "the step result is \(frameBytes) bytes on the wire, over the coordinator's frame limit of \(limit) bytes"
            $0.nonRetriable = true
        }
        var replacement = result
        replacement.stepFailed = failed
        return replacement
    }

    func acknowledged(requestId: String) {
        state.withLock { state in
            if state.unacknowledged.removeValue(forKey: requestId) != nil {
                if state.unacknowledgedOrder.first == requestId {
                    state.unacknowledgedOrder.removeFirst()
                } else {
                    state.unacknowledgedOrder.removeAll { $0 == requestId }
                }
            }
        }
    }

    /// Graceful shutdown: pause, finish in-flight steps within the grace period, deliver their
    /// results, hand back the rest, say goodbye.
    func drain() async {
        let channel = state.withLock { state -> (any Channel)? in
            state.draining = true
            return state.channel
        }
        logger.info("draining: no new steps; finishing in-flight ones")
        var pause = Tether_V1_Frame()
        pause.pause = .with { $0.reason = "shutting down" }
        channel?.writeAndFlush(pause, promise: nil)

        let grace = options.shutdownGracePeriod
        let deadline = ContinuousClock.now.advanced(by: grace)
        while ContinuousClock.now < deadline, state.withLock({ !$0.inFlight.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Let the coordinator acknowledge the last results (bounded).
        let ackDeadline = ContinuousClock.now.advanced(by: .seconds(5))
        while ContinuousClock.now < ackDeadline,
            state.withLock({ !$0.unacknowledged.isEmpty && $0.channel != nil })
        {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let (current, returned) = state.withLock { state -> ((any Channel)?, [String]) in
            state.stopped = true
            return (state.channel, Array(state.inFlight.keys))
        }
        if let current {
            try? await current.writeAndFlush(Tether_V1_Frame.goodbye(reason: "shutting down", returnedRequestIds: returned)).get()
            try? await current.close().get()
        }
        logger.info("drained", metadata: ["handedBack": "\(returned.count)"])
    }
}

/// The version of this SDK.
public enum TetherSDK {
    public static let version = TetherVersion.current
}
