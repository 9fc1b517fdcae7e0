import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TetherProtocol

/// A bare connection to the worker port, for feeding the coordinator bad input: optionally
/// TLS, collecting the frames it answers with and noticing when it closes.
final class RawConnection: Sendable {
    let channel: any Channel
    private let collector: FrameCollector

    static func connect(port: Int, tlsCAFile: String?) async throws -> RawConnection {
        let collector = FrameCollector()
        let context: NIOSSLContext? = try tlsCAFile.map { caFile in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            return try NIOSSLContext(configuration: tls)
        }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let context {
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                        try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: 64 * 1024 * 1024)))
                        try sync.addHandler(collector)
                    } else {
                        try sync.addHandler(DiscardingHandler())
                    }
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    private init(channel: any Channel, collector: FrameCollector) {
        self.channel = channel
        self.collector = collector
    }

    /// Writes raw bytes (under TLS when the connection uses it).
    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Writes one frame with its length prefix.
    func write(_ frame: Tether_V1_Frame) async throws {
        let body: [UInt8] = try frame.serializedBytes()
        let length = UInt32(body.count)
        try await write([UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body)
    }

    var frames: [Tether_V1_Frame] { collector.frames.withLock { $0 } }

    /// Waits until the peer closed the connection; false if it is still open after `timeout`.
    func waitUntilClosed(timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout) { !channel.isActive }
    }

    /// Waits for a frame matching `predicate`.
    func waitForFrame(timeout: Duration = .seconds(10), _ predicate: @escaping (Tether_V1_Frame) -> Bool) async -> Tether_V1_Frame? {
        var found: Tether_V1_Frame?
        _ = await eventually(timeout: timeout) {
            found = frames.first(where: predicate)
            return found != nil
        }
        return found
    }

    func close() async {
        try? await channel.close()
    }

    final class FrameCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = Tether_V1_Frame
        let frames = Mutex<[Tether_V1_Frame]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            frames.withLock { $0.append(frame) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// Reads and drops whatever a plaintext peer sends.
    final class DiscardingHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
