import NIOCore
import Synchronization
import TetherEngine
import TetherProtocol

/// The runtime's handle to one worker connection: turns the scheduler's messages into frames
/// and sends them on the connection's own event loop, a group of them in one flush.
final class WorkerConnection: Sendable {
    let id: String
    let instanceId: String
    let channel: any Channel
    /// When the connection last got a heartbeat (Unix milliseconds; 0 before the first), written
    /// on the connection's loop. The heartbeat of an idle worker changes nothing else and never
    /// reaches the scheduler's loop: the runtime reads this when the scheduler would otherwise
    /// take the connection as silent, and for the status.
    let lastHeartbeat = Atomic<Int64>(0)

    init(id: String, instanceId: String, channel: any Channel) {
        self.id = id
        self.instanceId = instanceId
        self.channel = channel
    }

    /// Sends `messages` in order and flushes once. The frames are built on the connection's
    /// loop, not the caller's: a step request copies the run's event and memoized outputs.
    func send(_ messages: [OutboundMessage]) {
        guard !messages.isEmpty else { return }
        let channel = self.channel
        onLoop { Self.write(messages.map { Self.frame(for: $0) }, to: channel) }
    }

    /// Sends frames built already (the Welcome), in order, with one flush.
    func send(_ frames: [Tether_V1_Frame]) {
        guard !frames.isEmpty else { return }
        let channel = self.channel
        onLoop { Self.write(frames, to: channel) }
    }

    /// Runs `body` on the connection's loop: at once when already there.
    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if channel.eventLoop.inEventLoop {
            body()
        } else {
            channel.eventLoop.execute(body)
        }
    }

    static func frame(for message: OutboundMessage) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        switch message {
        case .dispatch(let dispatch):
            frame.stepRequest = Tether_V1_StepRequest(dispatch)
        case .resultAck(_, let requestId, let accepted):
            frame.stepResultAck = .with {
                $0.requestID = requestId
                $0.accepted = accepted
            }
        }
        return frame
    }

    /// Sends `frame` (if any), then closes the connection.
    func close(after frame: Tether_V1_Frame?) {
        let channel = self.channel
        channel.eventLoop.execute {
            if let frame {
                channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
        }
    }

    private static func write(_ frames: [Tether_V1_Frame], to channel: any Channel) {
        for frame in frames {
            channel.write(frame, promise: nil)
        }
        channel.flush()
    }
}
