import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Worker connection state machine")
struct WorkerClientStateMachineTests {
    typealias Machine = WorkerClientHandler.StateMachine

    static let challenge = Tether_V1_Frame.with {
        $0.challenge = .with {
            $0.nonce = Data([1, 2, 3])
            $0.protocolMajor = ProtocolVersion.major
        }
    }
    static let welcome = Tether_V1_Frame.with { $0.welcome = .with { $0.connectionID = "c1" } }
    static let request = Tether_V1_Frame.with { $0.stepRequest = .with { $0.requestID = "r1" } }

    @Test("challenge, Hello, Welcome, then steps and acks")
    func happyPath() {
        var machine = Machine()
        #expect(machine.frameReceived(Self.challenge) == .sendHello(nonce: [1, 2, 3]))
        #expect(machine.state == .helloSent)
        #expect(machine.frameReceived(Self.welcome) == .welcomed(Self.welcome.welcome))
        #expect(machine.isWelcomed)
        #expect(machine.frameReceived(Self.request) == .startStep(Self.request.stepRequest))
        let ack = Tether_V1_Frame.with { $0.stepResultAck = .with { $0.requestID = "r1" } }
        let heartbeatAck = Tether_V1_Frame.with { $0.heartbeatAck = .with { $0.sequence = 1 } }
        #expect(machine.frameReceived(ack) == .acknowledge(requestId: "r1"))
        #expect(machine.frameReceived(heartbeatAck) == .none)
    }

    @Test("a step request before Welcome ends the session instead of running on an unregistered connection")
    func requestBeforeWelcome() {
        var machine = Machine()
        _ = machine.frameReceived(Self.challenge)
        guard case .finish(.closed(let reason, let welcomed)) = machine.frameReceived(Self.request) else {
            Issue.record("expected the session to end")
            return
        }
        #expect(reason.contains("StepRequest") || reason.contains("step"))
        #expect(!welcomed)
        #expect(machine.frameReceived(Self.welcome) == .none, "nothing after the end")
    }

    @Test("a second challenge or a second Welcome is a protocol violation")
    func repeats() {
        var machine = Machine()
        _ = machine.frameReceived(Self.challenge)
        if case .finish = machine.frameReceived(Self.challenge) {} else { Issue.record("a second challenge must end the session") }
        var welcomed = Machine()
        _ = welcomed.frameReceived(Self.challenge)
        _ = welcomed.frameReceived(Self.welcome)
        guard case .finish(.closed(_, true)) = welcomed.frameReceived(Self.welcome) else {
            Issue.record("a second Welcome must end the session")
            return
        }
    }

    @Test("Reject, Reconnect, an error frame and a closed connection end the session once")
    func endings() {
        var rejected = Machine()
        _ = rejected.frameReceived(Self.challenge)
        let reject = Tether_V1_Frame.with {
            $0.reject = .with {
                $0.code = "overloaded"
                $0.retryAfterMs = 1_500
            }
        }
        #expect(rejected.frameReceived(reject) == .finish(.rejected(code: .overloaded, message: "", retryAfterMilliseconds: 1_500)))
        #expect(rejected.closed(reason: "connection closed") == .none)

        var reconnecting = Machine()
        _ = reconnecting.frameReceived(Self.challenge)
        _ = reconnecting.frameReceived(Self.welcome)
        let reconnect = Tether_V1_Frame.with { $0.reconnect = .with { $0.withinMs = 5_000 } }
        #expect(reconnecting.frameReceived(reconnect) == .finish(.reconnect(withinMilliseconds: 5_000)))

        var closed = Machine()
        #expect(closed.closed(reason: "reset") == .finish(.closed(reason: "reset", wasWelcomed: false)))

        var wrongVersion = Machine()
        let old = Tether_V1_Frame.with { $0.challenge = .with { $0.protocolMajor = 99 } }
        guard case .finish(.rejected(.unsupportedVersion, _, 0)) = wrongVersion.frameReceived(old) else {
            Issue.record("an unknown protocol major must stop the worker")
            return
        }
    }

    @Test("not_leader ends the session with the leader's address, in place of the challenge or after Hello")
    func notLeader() {
        let standby = Tether_V1_Frame.notLeader(message: "standby", leaderWorkerAddress: "10.0.0.2:7421")
        var first = Machine()
        #expect(
            first.frameReceived(standby)
                == .finish(.notLeader(message: "standby", leaderWorkerAddress: "10.0.0.2:7421", retryAfterMilliseconds: 0)))
        #expect(first.closed(reason: "connection closed") == .none)

        var afterHello = Machine()
        _ = afterHello.frameReceived(Self.challenge)
        let electing = Tether_V1_Frame.notLeader(message: "no leader", leaderWorkerAddress: "", retryAfterMilliseconds: 400)
        #expect(
            afterHello.frameReceived(electing)
                == .finish(.notLeader(message: "no leader", leaderWorkerAddress: "", retryAfterMilliseconds: 400)))

        var welcomed = Machine()
        _ = welcomed.frameReceived(Self.challenge)
        _ = welcomed.frameReceived(Self.welcome)
        guard case .finish(.closed(_, true)) = welcomed.frameReceived(standby) else {
            Issue.record("a Reject after Welcome is a protocol violation")
            return
        }
    }
}
