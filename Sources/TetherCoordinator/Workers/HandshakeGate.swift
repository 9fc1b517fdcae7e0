import NIOCore
import Synchronization

/// The first handler of a worker connection. A connection asks the ``HandshakeLimiter`` for a
/// slot only once it has sent a complete first TLS record (the ClientHello), so idle or slow
/// sockets cannot hold slots and keep real workers out. Phases:
///
/// 1. **Pre-handshake.** Reading is on (one `read` at a time; the listener accepts with auto-read
///    off). Inbound bytes are buffered until the first record is whole (at most 5 + 16,384
///    bytes); nothing is passed on. Bytes that cannot start a TLS ClientHello close the
///    connection at once (`not_tls`, no TLS alert); so does a connection that has not sent the
///    whole record within `preHandshakeTimeoutMilliseconds` of accept (`pre_handshake_timeout`).
///    At most ``PreHandshakeConnections/limit`` connections are in this phase at once; past
///    that, a new one is closed at once (`pre_handshake_full`).
/// 2. **Admission.** The limiter's tiers: a slot, the queue (reading stays off, so a queued
///    connection costs only its socket and buffered ClientHello; it gives up after
///    `queueTimeoutMilliseconds`), a reject slot (`overloaded`), or refusal.
/// 3. **Open.** With a slot (or a reject slot), the gate adds the rest of the pipeline (TLS,
///    frames, the connection handler: until now a connection has none of it, so an idle or
///    queued socket costs no TLS state), fires `channelActive` to it, then the buffered bytes and
///    `channelReadComplete`, turns auto-read on, and from then on passes everything through.
final class HandshakeGate: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State: Equatable {
        /// Reading the first TLS record; holds a place in ``PreHandshakeConnections`` only.
        case awaitingClientHello
        /// The ClientHello is whole; waiting for the limiter (queued), not reading.
        case waitingForSlot
        /// Let through to TLS.
        case open
        case closed
    }

    /// Most bytes buffered before the gate opens: the first record whole, plus what arrived
    /// with it in the same read, up to one more record. More than that is not a TLS client.
    static let maxBufferedBytes = 2 * (FirstTLSRecord.headerBytes + FirstTLSRecord.maxLengthBytes)

    private let limiter: HandshakeLimiter
    private let ticket: HandshakeTicket
    private let preHandshake: PreHandshakeConnections
    private let preHandshakeTimeoutMilliseconds: Int
    private let queueTimeoutMilliseconds: Int
    private let recordRejected: @Sendable (String) -> Void
    private let makeHandlers: () throws -> [any ChannelHandler]
    private var state = State.awaitingClientHello
    /// Whether this connection is counted in `preHandshake`.
    private var countedPreHandshake = false
    private var buffered: ByteBuffer?
    private var preHandshakeTimeout: Scheduled<Void>?
    private var queueTimeout: Scheduled<Void>?

    /// - Parameters:
    ///   - ticket: shared with the connection handler, which releases the slot once the worker
    ///     is registered or refused.
    ///   - preHandshake: the count of connections that have not sent their ClientHello yet,
    ///     shared by every connection of the listener.
    ///   - recordRejected: counts a connection closed before TLS, by code: `not_tls`,
    ///     `pre_handshake_timeout`, `pre_handshake_full`, `refused` or `queue_timeout`.
    ///   - makeHandlers: the handlers that follow the gate (TLS first), added when it opens.
    init(
        limiter: HandshakeLimiter, ticket: HandshakeTicket, preHandshake: PreHandshakeConnections,
        preHandshakeTimeoutMilliseconds: Int, queueTimeoutMilliseconds: Int,
        recordRejected: @escaping @Sendable (String) -> Void,
        makeHandlers: @escaping () throws -> [any ChannelHandler]
    ) {
        self.limiter = limiter
        self.ticket = ticket
        self.preHandshake = preHandshake
        self.preHandshakeTimeoutMilliseconds = preHandshakeTimeoutMilliseconds
        self.queueTimeoutMilliseconds = queueTimeoutMilliseconds
        self.recordRejected = recordRejected
        self.makeHandlers = makeHandlers
    }

    func channelActive(context: ChannelHandlerContext) {
        guard preHandshake.enter() else {
            reject(context: context, code: "pre_handshake_full")
            return
        }
        countedPreHandshake = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        preHandshakeTimeout = context.eventLoop.scheduleTask(
            in: .milliseconds(Int64(preHandshakeTimeoutMilliseconds))
        ) {
            let (gate, context) = loopBound.value
            if gate.state == .awaitingClientHello {
                gate.reject(context: context, code: "pre_handshake_timeout")
            }
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .open:
            context.fireChannelRead(data)
        case .closed:
            break
        case .awaitingClientHello, .waitingForSlot:
            var bytes = unwrapInboundIn(data)
            if buffered == nil {
                buffered = bytes
            } else {
                buffered!.writeBuffer(&bytes)
            }
            if buffered!.readableBytes > Self.maxBufferedBytes
                || FirstTLSRecord.inspect(buffered!) == .notTLS
            {
                reject(context: context, code: "not_tls")
            }
        }
    }

    /// The end of a read: ask the limiter once the first record is whole, else read on.
    func channelReadComplete(context: ChannelHandlerContext) {
        switch state {
        case .open:
            context.fireChannelReadComplete()
        case .awaitingClientHello:
            if let buffered, FirstTLSRecord.inspect(buffered) == .complete {
                clientHelloArrived(context: context)
            } else {
                context.read()
            }
        case .waitingForSlot, .closed:
            break
        }
    }

    /// The ClientHello is whole: stop reading and ask for a slot.
    private func clientHelloArrived(context: ChannelHandlerContext) {
        state = .waitingForSlot
        preHandshakeTimeout?.cancel()
        leavePreHandshake()
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
                    gate.reject(context: context, code: "queue_timeout")
                }
            }
        case .refused:
            reject(context: context, code: "refused")
        }
    }

    /// The slot (or a reject slot) is ours: let TLS start on the buffered ClientHello.
    private func open(context: ChannelHandlerContext) {
        guard state == .waitingForSlot, context.channel.isActive else { return }
        state = .open
        do {
            try context.pipeline.syncOperations.addHandlers(makeHandlers(), position: .after(self))
        } catch {
            state = .closed
            buffered = nil
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
        }
        context.fireChannelReadComplete()
        do {
            try context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        } catch {
            context.close(promise: nil)
        }
    }

    /// Closes the connection before TLS, counting it under `code`.
    private func reject(context: ChannelHandlerContext, code: String) {
        guard state != .closed else { return }
        state = .closed
        buffered = nil
        preHandshakeTimeout?.cancel()
        leavePreHandshake()
        recordRejected(code)
        context.close(promise: nil)
    }

    private func leavePreHandshake() {
        guard countedPreHandshake else { return }
        countedPreHandshake = false
        preHandshake.leave()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard state == .open else {
            // A reset or other I/O error before TLS: nothing to tell anyone.
            state = .closed
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        buffered = nil
        preHandshakeTimeout?.cancel()
        queueTimeout?.cancel()
        leavePreHandshake()
        limiter.release(ticket)
        context.fireChannelInactive()
    }
}

/// The first TLS record of a connection, judged from as many of its bytes as have arrived.
enum FirstTLSRecord {
    /// Content type, legacy version (2 bytes), length (2 bytes).
    static let headerBytes = 5
    /// Longest record payload TLS allows (2^14).
    static let maxLengthBytes = 16_384

    enum Verdict: Equatable, Sendable {
        /// Could still be a ClientHello record; more bytes are needed.
        case incomplete
        /// A whole record that starts a ClientHello (the handshake message may continue in later records).
        case complete
        /// Cannot be the first record of a TLS client.
        case notTLS
    }

    /// Checks each byte as soon as it is there, so plaintext is caught from its first byte.
    static func inspect(_ bytes: ByteBuffer) -> Verdict {
        let start = bytes.readerIndex
        func byte(_ offset: Int) -> UInt8? {
            offset < bytes.readableBytes ? bytes.getInteger(at: start + offset, as: UInt8.self) : nil
        }
        // Content type 22: handshake.
        guard let contentType = byte(0) else { return .incomplete }
        guard contentType == 0x16 else { return .notTLS }
        // Legacy record version 3.0–3.4 (TLS 1.3 clients send 3.1 or 3.3).
        if let major = byte(1), major != 0x03 { return .notTLS }
        if let minor = byte(2), minor > 0x04 { return .notTLS }
        guard let high = byte(3), let low = byte(4) else { return .incomplete }
        let length = Int(high) << 8 | Int(low)
        // Not empty (handshake fragments never are), at most 2^14.
        guard (1...maxLengthBytes).contains(length) else { return .notTLS }
        // Handshake message type 1: ClientHello.
        if let messageType = byte(5), messageType != 0x01 { return .notTLS }
        return bytes.readableBytes >= headerBytes + length ? .complete : .incomplete
    }
}

/// How many worker connections are accepted but have not sent their ClientHello yet, bounded by
/// `limit`. Each is only a socket and a small buffer, but not an unbounded number of them.
/// Thread-safe: connections on every event loop share one.
final class PreHandshakeConnections: Sendable {
    let limit: Int
    private let state = Mutex((count: 0, peak: 0))

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Counts a new connection in; false (and it is not counted) when `limit` are already in.
    func enter() -> Bool {
        state.withLock { state in
            guard state.count < limit else { return false }
            state.count += 1
            state.peak = max(state.peak, state.count)
            return true
        }
    }

    /// Counts a connection out: it sent its ClientHello, or closed.
    func leave() {
        state.withLock { $0.count -= 1 }
    }

    /// Connections in the pre-handshake phase now.
    var count: Int { state.withLock { $0.count } }
    /// The most there were at once.
    var peak: Int { state.withLock { $0.peak } }
}
