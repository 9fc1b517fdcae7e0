import TetherEngine
import TetherProtocol

extension WorkerConnectionHandler {
    /// The life of one worker connection as a value: events in, actions out, no I/O.
    ///
    /// The Welcome and the first step requests are written from the scheduler's event loop
    /// while this connection learns that its registration finished only after hopping back
    /// to its own loop. A worker may answer them (a heartbeat, a resent result) in between,
    /// so frames that arrive while registering are kept, in order, and handled as soon as the
    /// registration is known; they are never an error.
    struct StateMachine {
        enum State: Equatable {
            /// TCP accepted, TLS in progress.
            case connecting
            /// Challenge sent, waiting for Hello.
            case challenged(nonce: [UInt8])
            /// Hello accepted; the runtime is registering. Frames received meanwhile wait here.
            case registering(held: [Tether_V1_Frame])
            case registered
            case closed
        }

        /// Most frames kept while registering: a worker answering Welcome sends a heartbeat and
        /// its held results, no more than its capacity allows.
        static let maxHeldFrames = 1_024

        enum FrameAction: Equatable {
            /// Check the Hello against `nonce` and start registering (``helloAccepted()``).
            case verifyHello(Tether_V1_Hello, nonce: [UInt8])
            /// Pass the frame to the runtime (heartbeat, result, capacity update, pause).
            case forward(Tether_V1_Frame)
            /// The worker said Goodbye: hand back what it holds and close.
            case goodbye(reason: String)
            /// Held until the registration is known.
            case hold
            /// Ignore (the connection is closing).
            case ignore
            /// End the connection with a protocol error.
            case fail(code: ErrorCode, message: String)
        }

        private(set) var state: State = .connecting

        var isRegistered: Bool { state == .registered }
        var isClosed: Bool { state == .closed }
        var isConnecting: Bool { state == .connecting }

        /// TLS finished: the challenge with `nonce` goes out. False when not connecting any more.
        mutating func tlsCompleted(nonce: [UInt8]) -> Bool {
            guard state == .connecting else { return false }
            state = .challenged(nonce: nonce)
            return true
        }

        mutating func frameReceived(_ frame: Tether_V1_Frame) -> FrameAction {
            switch state {
            case .connecting:
                return .fail(code: .protocolError, message: "unexpected \(frame.kindName) frame before the challenge")
            case .challenged(let nonce):
                if case .hello(let hello) = frame.kind { return .verifyHello(hello, nonce: nonce) }
                return .fail(code: .protocolError, message: "unexpected \(frame.kindName) frame; expected Hello")
            case .registering(var held):
                switch frame.kind {
                case .heartbeat, .stepResult, .capacityUpdate, .pause, .goodbye:
                    guard held.count < Self.maxHeldFrames else {
                        return .fail(code: .protocolError, message: "more than \(Self.maxHeldFrames) frames before Welcome")
                    }
                    held.append(frame)
                    state = .registering(held: held)
                    return .hold
                default:
                    return .fail(code: .protocolError, message: "unexpected \(frame.kindName) frame during registration")
                }
            case .registered:
                switch frame.kind {
                case .heartbeat, .stepResult, .capacityUpdate, .pause:
                    return .forward(frame)
                case .goodbye(let goodbye):
                    state = .closed
                    return .goodbye(reason: goodbye.reason)
                default:
                    return .fail(code: .protocolError, message: "unexpected \(frame.kindName) frame")
                }
            case .closed:
                return .ignore
            }
        }

        /// The Hello checked out: registration starts.
        mutating func helloAccepted() {
            guard case .challenged = state else { return }
            state = .registering(held: [])
        }

        /// Registration succeeded: returns the frames that arrived meanwhile, to handle now in order.
        mutating func registrationSucceeded() -> [Tether_V1_Frame]? {
            guard case .registering(let held) = state else { return nil }
            state = .registered
            return held
        }

        /// Whether registration is still awaited (a late answer for a closed connection is ignored).
        var isRegistering: Bool {
            if case .registering = state { return true }
            return false
        }

        /// The connection is ending. Returns whether it had been registered.
        mutating func close() -> Bool {
            let wasRegistered = state == .registered
            state = .closed
            return wasRegistered
        }
    }
}
