import NIOCore
import NIOEmbedded
import NIOSSL

/// The first TLS record a real client sends: a TLS 1.3 ClientHello from NIOSSL, captured in an
/// `EmbeddedChannel`. Sent on a plain TCP connection it starts the coordinator's TLS handshake,
/// which then stalls: the connection holds a handshake slot until the handshake timeout.
enum ClientHello {
    static func record() throws -> [UInt8] {
        let channel = EmbeddedChannel()
        let context = try NIOSSLContext(configuration: .makeClientConfiguration())
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 7421), promise: nil)
        var bytes: [UInt8] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        _ = try? channel.finish()
        return bytes
    }
}

extension RawConnection {
    /// A plain TCP connection that sends a ClientHello and then nothing: it gets a handshake
    /// slot (or a place in the queue) and never finishes TLS.
    static func connectStallingTLS(port: Int) async throws -> RawConnection {
        let connection = try await connect(port: port, tlsCAFile: nil)
        try await connection.write(ClientHello.record())
        return connection
    }
}
