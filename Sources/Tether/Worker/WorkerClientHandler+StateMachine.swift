import TetherEngine
import TetherProtocol

extension WorkerClientHandler {
    /// The worker's side of one connection as a value: frames and timer ticks in, actions out.
    ///
    /// A frame is only acted on in the state where the protocol allows it: a step request
    /// before Welcome, a second Challenge or a second Welcome is a protocol violation that ends
    /// the session (the worker reconnects), never work started on a connection the coordinator
    /// has not registered.
    struct StateMachine {
        enum State: Equatable {
            /// TLS done; the coordinator speaks first.
            case awaitingChallenge
            /// Hello sent; waiting for Welcome or Reject.
            case helloSent
            /// Registered: steps, acks and heartbeats flow.
            case welcomed(connectionId: String)
            case finished
        }

        enum Action: Equatable {
            /// Answer the challenge with a Hello proving the key over `nonce`.
            case sendHello(nonce: [UInt8])
            /// The coordinator registered this connection.
            case welcomed(Tether_V1_Welcome)
            case startStep(Tether_V1_StepRequest)
            case acknowledge(requestId: String)
            /// Nothing to do (a heartbeat ack, or a frame after the end).
            case none
            /// The session ends this way.
            case finish(Worker.SessionEnd)
        }

        private(set) var state: State = .awaitingChallenge

        var isWelcomed: Bool {
            if case .welcomed = state { return true }
            return false
        }

        mutating func frameReceived(_ frame: Tether_V1_Frame) -> Action {
            if state == .finished { return .none }
            switch (state, frame.kind) {
            case (.awaitingChallenge, .challenge(let challenge)):
                guard challenge.protocolMajor == ProtocolVersion.major else {
                    return finish(
                        .rejected(
                            code: .unsupportedVersion,
                            message: "the coordinator speaks protocol \(challenge.protocolMajor); this SDK speaks \(ProtocolVersion.major)",
                            retryAfterMilliseconds: 0))
                }
                state = .helloSent
                return .sendHello(nonce: Array(challenge.nonce))
            case (.helloSent, .welcome(let welcome)):
                state = .welcomed(connectionId: welcome.connectionID)
                return .welcomed(welcome)
            case (.helloSent, .reject(let reject)), (.awaitingChallenge, .reject(let reject)):
                // A standby of a cluster says so in place of the challenge; a node deposed
                // during the handshake, after the Hello.
                if ErrorCode(reject.code) == .notLeader {
                    return finish(
                        .notLeader(
                            message: reject.message, leaderWorkerAddress: reject.leaderWorkerAddress,
                            retryAfterMilliseconds: reject.retryAfterMs))
                }
                return finish(
                    .rejected(code: ErrorCode(reject.code), message: reject.message, retryAfterMilliseconds: reject.retryAfterMs))
            case (.welcomed, .stepRequest(let request)):
                return .startStep(request)
            case (.welcomed, .stepResultAck(let ack)):
                return .acknowledge(requestId: ack.requestID)
            case (.welcomed, .heartbeatAck):
                return .none
            case (_, .reconnect(let reconnect)):
                return finish(.reconnect(withinMilliseconds: reconnect.withinMs))
            case (_, .error(let error)):
                return finish(.closed(reason: "coordinator error \(error.code): \(error.message)", wasWelcomed: isWelcomed))
            default:
                return finish(
                    .closed(
                        reason: "protocol violation: the coordinator sent \(frame.kindName) while \(state.phase)",
                        wasWelcomed: isWelcomed))
            }
        }

        /// The connection closed or failed.
        mutating func closed(reason: String) -> Action {
            if state == .finished { return .none }
            return finish(.closed(reason: reason, wasWelcomed: isWelcomed))
        }

        private mutating func finish(_ end: Worker.SessionEnd) -> Action {
            state = .finished
            return .finish(end)
        }
    }
}

extension WorkerClientHandler.StateMachine.State {
    /// The state in words, for messages.
    var phase: String {
        switch self {
        case .awaitingChallenge: "waiting for the challenge"
        case .helloSent: "waiting for Welcome"
        case .welcomed: "registered"
        case .finished: "finished"
        }
    }
}
