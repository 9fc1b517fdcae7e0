import NIOCore

/// The first handler of a worker connection: it asks the ``HandshakeLimiter`` for a slot before
/// anything else happens. The listener accepts with auto-read off, so a queued connection is
/// not read and its TLS handshake does not start; this handler holds back `channelActive` from
/// the TLS handler until the slot is granted, then turns reading on.
final class HandshakeGate: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let limiter: HandshakeLimiter
    private let ticket: HandshakeTicket
    private let queueTimeoutMilliseconds: Int
    private let recordRefused: @Sendable (String) -> Void
    private var opened = false
    private var closed = false
    private var queueTimeout: Scheduled<Void>?

    /// - Parameters:
    ///   - ticket: shared with the connection handler, which releases the slot once the worker
    ///     is registered or refused.
    ///   - recordRefused: counts a connection closed before TLS, with `refused` or `queue_timeout`.
    init(
        limiter: HandshakeLimiter, ticket: HandshakeTicket, queueTimeoutMilliseconds: Int,
        recordRefused: @escaping @Sendable (String) -> Void
    ) {
        self.limiter = limiter
        self.ticket = ticket
        self.queueTimeoutMilliseconds = queueTimeoutMilliseconds
        self.recordRefused = recordRefused
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let admission = limiter.admit(ticket) {
            loopBound.eventLoop.execute {
                let (gate, context) = loopBound.value
                gate.queueTimeout?.cancel()
                gate.open(context: context)
            }
        }
        switch admission {
        case .granted, .overloaded:
            open(context: context)
        case .queued:
            queueTimeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(queueTimeoutMilliseconds))) {
                let (gate, context) = loopBound.value
                // Still queued (not granted meanwhile): give up on it before TLS. If it was
                // granted, the grant is already on its way to this loop.
                if gate.limiter.cancelWait(gate.ticket) {
                    gate.recordRefused("queue_timeout")
                    gate.closed = true
                    context.close(promise: nil)
                }
            }
        case .refused:
            recordRefused("refused")
            closed = true
            context.close(promise: nil)
        }
    }

    /// The slot (or a reject slot) is ours: let TLS start.
    private func open(context: ChannelHandlerContext) {
        guard !opened, !closed, context.channel.isActive else { return }
        opened = true
        context.fireChannelActive()
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        queueTimeout?.cancel()
        limiter.release(ticket)
        context.fireChannelInactive()
    }
}
