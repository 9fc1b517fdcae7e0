import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP/1.1 client connection to the coordinator's HTTP port, for tests that read response
/// heads or streams (`TetherClient` only returns whole bodies): plain, or HTTPS trusting the PEM
/// CA in `tlsCAFile` (the certificate must name 127.0.0.1).
func httpChannel(port: Int, tlsCAFile: String? = nil) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
    let context: NIOSSLContext? = try tlsCAFile.map { caFile in
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        return try NIOSSLContext(configuration: tls)
    }
    return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let context {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                }
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

/// Sends `bytes` on a new connection and reads until the server closes it: what it answered,
/// and whether it closed (false: still open after 10 s, a guard against a hang).
func rawExchange(port: Int, _ bytes: [UInt8]) async throws -> (answer: [UInt8], closed: Bool) {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await withThrowingTaskGroup(of: ([UInt8], Bool).self) { group in
        group.addTask {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: bytes))
                var answer: [UInt8] = []
                do {
                    for try await buffer in inbound { answer.append(contentsOf: buffer.readableBytesView) }
                } catch {
                    // A reset after the server's last bytes: it closed all the same.
                }
                return (answer, true)
            }
        }
        group.addTask {
            try await Task.sleep(for: .seconds(10))
            try? await channel.channel.close()
            return ([], false)
        }
        let result = try await group.next() ?? ([], false)
        group.cancelAll()
        return result
    }
}
