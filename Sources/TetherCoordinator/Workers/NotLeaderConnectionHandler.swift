import NIOCore
import NIOTLS
import TetherEngine
import TetherProtocol

/// One connection to a ``NotLeaderListener``, after the ``HandshakeGate`` let it through: once
/// TLS completes, it writes one `Reject not_leader` (in place of the `Challenge`) and closes.
/// Whatever the peer sends is dropped unread; the listener's deadline bounds the rest.
final class NotLeaderConnectionHandler: ChannelInboundHandler {
    /// Plaintext after TLS; never read.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = Tether_V1_Frame

    private let limiter: HandshakeLimiter
    /// This connection's place in the limiter, shared with the gate.
    private let ticket: HandshakeTicket
    private let reject: () -> Tether_V1_Frame
    private var answered = false

    /// - Parameter reject: the frame to answer with, built when TLS completes (so it names the
    ///   leader known then).
    init(limiter: HandshakeLimiter, ticket: HandshakeTicket, reject: @escaping () -> Tether_V1_Frame) {
        self.limiter = limiter
        self.ticket = ticket
        self.reject = reject
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent, !answered {
            answered = true
            // The handshake is done: the slot can serve the next connection while this one closes.
            limiter.release(ticket)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reject())).whenComplete { _ in channel.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Dropped: a Hello or anything else gets no answer but the Reject already on its way.
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS failures (garbage, a wrong protocol) and I/O errors: nothing useful can be sent.
        context.close(promise: nil)
    }
}
