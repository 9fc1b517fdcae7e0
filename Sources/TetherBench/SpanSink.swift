import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An OTLP/HTTP endpoint for `tether bench --tracing`: it answers every export as a collector
/// does (200, empty body) and counts the requests and their bytes, so the bench measures what
/// tracing costs the coordinator and the workers without a collector to run.
final class SpanSink: Sendable {
    private let channel: any Channel
    private let counters: Counters

    final class Counters: Sendable {
        let requests = Atomic<Int>(0)
        let bytes = Atomic<Int>(0)
    }

    var port: Int { channel.localAddress?.port ?? 0 }
    var requests: Int { counters.requests.load(ordering: .relaxed) }
    var bytes: Int { counters.bytes.load(ordering: .relaxed) }

    private init(channel: any Channel, counters: Counters) {
        self.channel = channel
        self.counters = counters
    }

    static func start() async throws -> SpanSink {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SpanSink(channel: channel, counters: counters)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let counters: Counters
        var keepAlive = true

        init(counters: Counters) {
            self.counters = counters
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                keepAlive = head.isKeepAlive
            case .body(let buffer):
                counters.bytes.wrappingAdd(buffer.readableBytes, ordering: .relaxed)
            case .end:
                counters.requests.wrappingAdd(1, ordering: .relaxed)
                var headers = HTTPHeaders([("Content-Type", "application/x-protobuf"), ("Content-Length", "0")])
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                let close = !keepAlive
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if close { context.close(promise: nil) }
                }
            }
        }
    }
}
