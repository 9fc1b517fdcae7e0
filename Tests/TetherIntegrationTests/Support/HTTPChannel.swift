import NIOCore
import NIOHTTP1
import NIOPosix

/// A plain HTTP/1.1 client connection to the coordinator's HTTP port, for tests that read response
/// heads or streams (`TetherClient` only returns whole bodies).
func httpChannel(port: Int) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                    wrappingChannelSynchronously: channel)
            }
        }
}
