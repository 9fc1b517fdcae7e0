import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import Synchronization
import Testing

@testable import TetherCoordinator

/// The gate in front of TLS, in an `EmbeddedChannel`: a connection takes a handshake slot only
/// once its ClientHello is whole; plaintext and idle sockets are closed without one.
@Suite("Handshake gate")
struct HandshakeGateTests {
    /// One connection: a read counter, the gate, and a recorder of what gets past it.
    final class Connection {
        let channel = EmbeddedChannel()
        let reads = ReadCounter()
        let recorder = Recorder()
        let ticket = HandshakeTicket()

        init(_ harness: Harness, after handlers: [any ChannelHandler] = []) throws {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(reads)
            try sync.addHandler(
                HandshakeGate(
                    limiter: harness.limiter, ticket: ticket, preHandshake: harness.preHandshake,
                    preHandshakeTimeoutMilliseconds: 10_000, queueTimeoutMilliseconds: 5_000,
                    recordRejected: { code in harness.codes.withLock { $0.append(code) } },
                    makeHandlers: { [recorder] in handlers + [recorder] }))
            channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 7421), promise: nil)
        }

        func send(_ bytes: [UInt8]) throws {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        }

        /// Whether the gate turned auto-read on (it does when it lets the connection through).
        var autoReadOn: Bool {
            channel.options.contains {
                $0.option is ChannelOptions.Types.AutoReadOption && ($0.value as? Bool) == true
            }
        }

        /// Whether the handlers after the gate are in the pipeline (the gate adds them when it opens).
        var opened: Bool {
            (try? channel.pipeline.syncOperations.context(handlerType: Recorder.self)) != nil
        }

        /// Everything written to the network so far.
        func outbound() throws -> [UInt8] {
            var bytes: [UInt8] = []
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
            }
            return bytes
        }
    }

    /// A limiter, the pre-handshake count and the rejection codes shared by connections.
    final class Harness: Sendable {
        let limiter: HandshakeLimiter
        let preHandshake: PreHandshakeConnections
        let codes = Mutex<[String]>([])

        init(slots: Int = 1, queued: Int = 1, preHandshake: Int = 16) {
            limiter = HandshakeLimiter(limit: slots, maxQueued: queued)
            self.preHandshake = PreHandshakeConnections(limit: preHandshake)
        }

        var rejected: [String] { codes.withLock { $0 } }
    }

    /// Counts the `read` requests that reach the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var count = 0

        func read(context: ChannelHandlerContext) {
            count += 1
            context.read()
        }
    }

    /// What the gate lets through.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var active = 0
        var readCompletes = 0
        var bytes: [UInt8] = []

        func channelActive(context: ChannelHandlerContext) {
            active += 1
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            readCompletes += 1
        }
    }

    /// A real TLS 1.3 ClientHello (NIOSSL's), as the first bytes a worker sends.
    static let clientHello: [UInt8] = {
        let channel = EmbeddedChannel()
        let context = try! NIOSSLContext(configuration: .makeClientConfiguration())
        try! channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
        channel.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: 7421), promise: nil)
        var bytes: [UInt8] = []
        while var buffer = try! channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        _ = try? channel.finish()
        return bytes
    }()

    @Test("a drip-fed ClientHello takes a slot only once its first record is whole, then reaches TLS whole")
    func dripFedClientHello() throws {
        let harness = Harness()
        let hello = Self.clientHello
        let recordLength = FirstTLSRecord.headerBytes + (Int(hello[3]) << 8 | Int(hello[4]))
        #expect(hello.count == recordLength, "one record")
        let connection = try Connection(harness)
        #expect(connection.reads.count == 1, "reads at once, although the channel's auto-read is off")
        #expect(harness.preHandshake.count == 1)
        for (index, byte) in hello.dropLast().enumerated() {
            try connection.send([byte])
            #expect(harness.limiter.statistics.inProgress == 0)
            #expect(connection.reads.count == index + 2, "asks for the next byte")
        }
        #expect(connection.recorder.active == 0 && connection.recorder.bytes.isEmpty, "nothing passed on yet")
        #expect(!connection.opened, "no handler after the gate yet (TLS included)")
        #expect(!connection.autoReadOn)

        try connection.send([hello.last!])
        #expect(harness.limiter.statistics.inProgress == 1)
        #expect(harness.limiter.hold(of: connection.ticket) == .slot)
        #expect(harness.preHandshake.count == 0)
        #expect(connection.recorder.active == 1)
        #expect(connection.recorder.bytes == hello, "the buffered bytes, in order, after channelActive")
        #expect(connection.recorder.readCompletes == 1)
        #expect(connection.opened, "the gate added the rest of the pipeline")
        #expect(connection.autoReadOn)
        #expect(harness.rejected.isEmpty)

        // From now on the gate passes everything through.
        try connection.send([1, 2, 3])
        #expect(connection.recorder.bytes == hello + [1, 2, 3])
        #expect(connection.recorder.readCompletes == 2)

        // Closing gives the slot back.
        _ = try? connection.channel.finish()
        #expect(harness.limiter.statistics.inProgress == 0)
    }

    @Test("a queued connection stops reading until a slot frees; then TLS starts on its buffered ClientHello")
    func queuedStopsReading() throws {
        let harness = Harness(slots: 1, queued: 1)
        let first = try Connection(harness)
        try first.send(Self.clientHello)
        #expect(harness.limiter.hold(of: first.ticket) == .slot)

        let second = try Connection(harness)
        try second.send(Self.clientHello)
        #expect(harness.limiter.hold(of: second.ticket) == .queued)
        let readsWhileQueued = second.reads.count
        second.channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_000))
        #expect(second.reads.count == readsWhileQueued, "no read while waiting for a slot")
        #expect(second.recorder.active == 0 && !second.autoReadOn)

        _ = try? first.channel.finish()  // frees the slot: it passes to the waiter
        second.channel.embeddedEventLoop.run()
        #expect(harness.limiter.hold(of: second.ticket) == .slot)
        #expect(second.recorder.active == 1)
        #expect(second.recorder.bytes == Self.clientHello)
        #expect(second.autoReadOn)
        second.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10_000))
        #expect(second.channel.isActive, "neither the queue timeout nor the pre-handshake timeout fires now")
        #expect(harness.rejected.isEmpty)
        _ = try? second.channel.finish()
    }

    @Test("plaintext is closed at once, without a slot and without a place in the queue")
    func plaintext() throws {
        let harness = Harness(slots: 1, queued: 1)
        let connection = try Connection(harness)
        try connection.send(Array("GET / HTTP/1.1\r\nHost: coordinator\r\n\r\n".utf8))
        #expect(!connection.channel.isActive)
        #expect(harness.rejected == ["not_tls"])
        #expect(harness.limiter.statistics == HandshakeLimiter.Statistics())
        #expect(harness.preHandshake.count == 0)
        #expect(connection.recorder.active == 0 && connection.recorder.bytes.isEmpty)
        #expect(try connection.outbound().isEmpty, "no TLS alert, nothing at all")

        // One byte is enough to tell.
        let single = try Connection(harness)
        try single.send([UInt8(ascii: "G")])
        #expect(!single.channel.isActive)
        #expect(harness.rejected == ["not_tls", "not_tls"])
    }

    @Test("a socket that sends nothing, or only part of a ClientHello, is closed at the pre-handshake timeout")
    func idleTimeout() throws {
        let harness = Harness()
        let idle = try Connection(harness)
        idle.channel.embeddedEventLoop.advanceTime(by: .milliseconds(9_999))
        #expect(idle.channel.isActive)
        idle.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!idle.channel.isActive)
        #expect(harness.rejected == ["pre_handshake_timeout"])

        // A slow drip does not reset the clock: the timeout counts from accept.
        let slow = try Connection(harness)
        var sent = 0
        for byte in Self.clientHello.prefix(200) where slow.channel.isActive {
            try slow.send([byte])
            sent += 1
            slow.channel.embeddedEventLoop.advanceTime(by: .milliseconds(101))
        }
        #expect(!slow.channel.isActive)
        #expect(sent == 100, "closed 10 s after accept, part-way through the ClientHello")
        #expect(harness.rejected == ["pre_handshake_timeout", "pre_handshake_timeout"])
        #expect(harness.limiter.statistics == HandshakeLimiter.Statistics(), "neither ever held a slot")
        #expect(harness.preHandshake.count == 0)
    }

    @Test("past the pre-handshake bound a new connection is closed at once; a ClientHello frees its place")
    func preHandshakeBound() throws {
        let harness = Harness(slots: 4, queued: 0, preHandshake: 2)
        let idle = try [Connection(harness), Connection(harness)]
        #expect(harness.preHandshake.count == 2)
        let third = try Connection(harness)
        #expect(!third.channel.isActive)
        #expect(harness.rejected == ["pre_handshake_full"])
        #expect(harness.preHandshake.count == 2)

        try idle[0].send(Self.clientHello)
        #expect(harness.limiter.hold(of: idle[0].ticket) == .slot)
        #expect(harness.preHandshake.count == 1)
        let fourth = try Connection(harness)
        #expect(fourth.channel.isActive)
        _ = try? idle[1].channel.finish()
        #expect(harness.preHandshake.count == 1, "a close frees its place too")
    }

    @Test("past the slots and the queue: one overloaded connection gets TLS, the next is refused before TLS")
    func existingTiers() throws {
        let harness = Harness(slots: 1, queued: 0)  // one reject slot (1 / 8, at least 1)
        let connections = try (0..<3).map { _ in try Connection(harness) }
        for connection in connections { try connection.send(Self.clientHello) }
        #expect(harness.limiter.hold(of: connections[0].ticket) == .slot)
        #expect(harness.limiter.hold(of: connections[1].ticket) == .rejectSlot)
        #expect(connections[1].recorder.bytes == Self.clientHello, "let through to be answered overloaded")
        #expect(!connections[2].channel.isActive)
        #expect(connections[2].recorder.active == 0)
        #expect(harness.rejected == ["refused"])
    }

    @Test("a queued connection gives up after the queue timeout, before TLS")
    func queueTimeout() throws {
        let harness = Harness(slots: 1, queued: 1)
        let first = try Connection(harness)
        try first.send(Self.clientHello)
        let second = try Connection(harness)
        try second.send(Self.clientHello)
        second.channel.embeddedEventLoop.advanceTime(by: .milliseconds(5_000))
        #expect(!second.channel.isActive)
        #expect(harness.rejected == ["queue_timeout"])
        #expect(harness.limiter.statistics.queueTimeouts == 1)
        #expect(harness.limiter.statistics.queued == 0)
    }

    @Test("with NIOSSL behind it, the replayed ClientHello is answered with a ServerHello")
    func realTLS() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try DevCertificates.generate(into: directory)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(files.serverCertificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: files.serverKeyPath, format: .pem)))
        tls.minimumTLSVersion = .tlsv13
        let context = try NIOSSLContext(configuration: tls)

        let harness = Harness(slots: 1, queued: 1)
        let holder = try Connection(harness)
        try holder.send(Self.clientHello)
        let connection = try Connection(harness, after: [NIOSSLServerHandler(context: context)])
        for chunk in stride(from: 0, to: Self.clientHello.count, by: 50) {
            try connection.send(Array(Self.clientHello[chunk..<min(chunk + 50, Self.clientHello.count)]))
        }
        #expect(harness.limiter.hold(of: connection.ticket) == .queued)
        #expect(try connection.outbound().isEmpty, "TLS has not started while queued")

        _ = try? holder.channel.finish()
        connection.channel.embeddedEventLoop.run()
        let answer = try connection.outbound()
        #expect(answer.starts(with: [0x16, 0x03, 0x03]), "a handshake record: the ServerHello")
        #expect(answer.count > 5 && answer[5] == 0x02, "ServerHello")
        #expect(harness.rejected.isEmpty)
        _ = try? connection.channel.finish()
    }

    @Test("the first record is judged byte by byte")
    func firstRecordVerdicts() {
        func verdict(_ bytes: [UInt8]) -> FirstTLSRecord.Verdict {
            FirstTLSRecord.inspect(ByteBuffer(bytes: bytes))
        }
        #expect(verdict([]) == .incomplete)
        #expect(verdict([0x16]) == .incomplete)
        #expect(verdict([0x16, 0x03, 0x01, 0x00]) == .incomplete)
        #expect(verdict([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0, 0]) == .incomplete)
        #expect(verdict([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0, 0, 0]) == .complete)
        #expect(verdict([0x16, 0x03, 0x01, 0x00, 0x01, 0x01]) == .complete, "a one-byte first fragment")
        #expect(verdict(Self.clientHello) == .complete)
        #expect(verdict(Array(Self.clientHello.dropLast())) == .incomplete)
        #expect(verdict(Array("GET /".utf8)) == .notTLS)
        #expect(verdict([0x80, 0x2e, 0x01]) == .notTLS, "SSLv2-style hello")
        #expect(verdict([0x17, 0x03, 0x03]) == .notTLS, "application data")
        #expect(verdict([0x16, 0x04]) == .notTLS, "version major")
        #expect(verdict([0x16, 0x03, 0x05]) == .notTLS, "version minor")
        #expect(verdict([0x16, 0x03, 0x01, 0x40, 0x01]) == .notTLS, "longer than 2^14")
        #expect(verdict([0x16, 0x03, 0x01, 0x00, 0x00]) == .notTLS, "empty")
        #expect(verdict([0x16, 0x03, 0x03, 0x00, 0x10, 0x02]) == .notTLS, "a ServerHello")
    }
}
