import NIOCore
import TetherProtocol

/// The runtime's handle to one worker connection: sends frames on the connection's own
/// event loop, batching a group of frames into one flush.
final class WorkerConnection: Sendable {
    let id: String
    let instanceId: String
    let channel: any Channel

    init(id: String, instanceId: String, channel: any Channel) {
        self.id = id
        self.instanceId = instanceId
        self.channel = channel
    }

    /// Writes `frames` in order and flushes once.
    func send(_ frames: [Tether_V1_Frame]) {
        guard !frames.isEmpty else { return }
        let channel = self.channel
        if channel.eventLoop.inEventLoop {
            Self.write(frames, to: channel)
        } else {
            channel.eventLoop.execute { Self.write(frames, to: channel) }
        }
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
