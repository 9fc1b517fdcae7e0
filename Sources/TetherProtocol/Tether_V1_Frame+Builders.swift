import Foundation
import TetherEngine

extension Tether_V1_Frame {
    /// An `ErrorFrame`: the sender closes the connection after sending it.
    public static func error(code: ErrorCode, message: String) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        frame.error = .with {
            $0.code = code.rawValue
            $0.message = message
        }
        return frame
    }

    /// An `ErrorFrame` carrying a ``TetherError``'s code and message.
    public static func error(_ error: TetherError) -> Tether_V1_Frame {
        .error(code: error.code, message: error.message)
    }

    /// A worker's `Goodbye`, handing back the steps it did not finish.
    public static func goodbye(reason: String, returnedRequestIds: [String] = []) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        frame.goodbye = .with {
            $0.reason = reason
            $0.returnedRequestIds = returnedRequestIds
        }
        return frame
    }

    /// The coordinator's opening `Challenge`, announcing this build's ``ProtocolVersion``.
    public static func challenge(nonce: [UInt8], coordinatorVersion: String) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        frame.challenge = .with {
            $0.nonce = Data(nonce)
            $0.protocolMajor = ProtocolVersion.major
            $0.protocolMinor = ProtocolVersion.minor
            $0.coordinatorVersion = coordinatorVersion
        }
        return frame
    }

    /// A `Reject` ending the handshake; `retryAfterMilliseconds` matters for `overloaded` and `draining`.
    public static func reject(
        code: ErrorCode,
        message: String,
        retryAfterMilliseconds: UInt32 = 0
    ) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        frame.reject = .with {
            $0.code = code.rawValue
            $0.message = message
            $0.retryAfterMs = retryAfterMilliseconds
        }
        return frame
    }

    /// The `Reject` a standby coordinator answers every worker connection with, in place of the
    /// `Challenge`: code `not_leader`, and the leader's worker address (`host:port`) when it
    /// knows one, empty otherwise.
    public static func notLeader(
        message: String,
        leaderWorkerAddress: String,
        retryAfterMilliseconds: UInt32 = 0
    ) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame.reject(code: .notLeader, message: message, retryAfterMilliseconds: retryAfterMilliseconds)
        frame.reject.leaderWorkerAddress = leaderWorkerAddress
        return frame
    }

    /// The frame's kind as its protobuf field name (`"hello"`, `"step_request"`, …), or
    /// `"empty"` for a frame without one; for logs and "unexpected frame" messages.
    public var kindName: String {
        switch self.kind {
        case .none: "empty"
        case .challenge: "challenge"
        case .hello: "hello"
        case .welcome: "welcome"
        case .reject: "reject"
        case .heartbeat: "heartbeat"
        case .heartbeatAck: "heartbeat_ack"
        case .capacityUpdate: "capacity_update"
        case .stepRequest: "step_request"
        case .stepResult: "step_result"
        case .stepResultAck: "step_result_ack"
        case .pause: "pause"
        case .goodbye: "goodbye"
        case .reconnect: "reconnect"
        case .error: "error"
        }
    }
}
