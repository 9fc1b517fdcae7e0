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

/// Sends `bytes` as they are on a new connection to the HTTP port and returns everything the
/// server answers until it closes the connection (or 5 s pass): for requests no HTTP client
/// library would send, such as a malformed chunk size.
func rawHTTP(port: Int, _ bytes: String) async throws -> String {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await withThrowingTaskGroup(of: String.self) { group in
        group.addTask {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: bytes))
                var answer = ""
                do {
                    for try await buffer in inbound { answer += String(buffer: buffer) }
                } catch {
                    // A server that closes with bytes unread resets the connection (RST), after
                    // its answer: keep what arrived.
                }
                return answer
            }
        }
        group.addTask {
            try await Task.sleep(for: .seconds(5))
            try? await channel.channel.close()
            return ""
        }
        let answer = try await group.next() ?? ""
        group.cancelAll()
        return answer
    }
}
