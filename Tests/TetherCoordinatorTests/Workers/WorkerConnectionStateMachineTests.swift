import Testing
import TetherEngine
import TetherProtocol

@testable import TetherCoordinator

@Suite("Coordinator connection state machine")
struct WorkerConnectionStateMachineTests {
    typealias Machine = WorkerConnectionHandler.StateMachine

    static let hello = Tether_V1_Frame.with { $0.hello = .with { $0.instanceID = "w1" } }
    static let heartbeat = Tether_V1_Frame.with { $0.heartbeat = .with { $0.sequence = 7 } }
    static let result = Tether_V1_Frame.with { $0.stepResult = .with { $0.requestID = "r1" } }

    static func registering() -> Machine {
        var machine = Machine()
        let challenged = machine.tlsCompleted(nonce: [9])
        #expect(challenged)
        #expect(machine.frameReceived(hello) == .verifyHello(hello.hello, nonce: [9]))
        machine.helloAccepted()
        return machine
    }

    @Test("frames that answer Welcome before the registration is known are held, then handled in order")
    func heldDuringRegistration() {
        var machine = Self.registering()
        #expect(machine.frameReceived(Self.heartbeat) == .hold)
        #expect(machine.frameReceived(Self.result) == .hold)
        #expect(machine.registrationSucceeded() == [Self.heartbeat, Self.result])
        #expect(machine.isRegistered)
        #expect(machine.frameReceived(Self.heartbeat) == .forward(Self.heartbeat))
        #expect(machine.registrationSucceeded() == nil, "only once")
    }

    @Test("a worker that floods frames during registration is cut off")
    func heldFramesAreBounded() {
        var machine = Self.registering()
        for _ in 0..<Machine.maxHeldFrames { #expect(machine.frameReceived(Self.heartbeat) == .hold) }
        guard case .fail(.protocolError, _) = machine.frameReceived(Self.heartbeat) else {
            Issue.record("expected a protocol error past the bound")
            return
        }
    }

    @Test("anything but Hello after the challenge, a second Hello, or a coordinator-only frame is a protocol error")
    func unexpectedFrames() {
        var challenged = Machine()
        _ = challenged.tlsCompleted(nonce: [1])
        guard case .fail(.protocolError, _) = challenged.frameReceived(Self.heartbeat) else {
            Issue.record("a heartbeat before Hello must fail")
            return
        }
        var registering = Self.registering()
        guard case .fail(.protocolError, _) = registering.frameReceived(Self.hello) else {
            Issue.record("a second Hello must fail")
            return
        }
        var registered = Self.registering()
        _ = registered.registrationSucceeded()
        let request = Tether_V1_Frame.with { $0.stepRequest = .init() }
        guard case .fail(.protocolError, _) = registered.frameReceived(request) else {
            Issue.record("a StepRequest from a worker must fail")
            return
        }
    }

    @Test("Goodbye ends the connection; nothing is handled after the close")
    func goodbyeAndClose() {
        var machine = Self.registering()
        _ = machine.registrationSucceeded()
        let goodbye = Tether_V1_Frame.with { $0.goodbye = .with { $0.reason = "bye" } }
        #expect(machine.frameReceived(goodbye) == .goodbye(reason: "bye"))
        #expect(machine.isClosed)
        #expect(machine.frameReceived(Self.heartbeat) == .ignore)
        var failing = Self.registering()
        #expect(failing.close() == false, "was not registered yet")
        #expect(failing.registrationSucceeded() == nil, "a late registration answer for a closed connection is ignored")
    }
}
