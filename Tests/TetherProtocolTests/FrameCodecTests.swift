import Foundation
import NIOCore
import NIOEmbedded
import NIOTestUtils
import SwiftProtobuf
import Testing
import TetherEngine

@testable import TetherProtocol

@Suite("Frame codec")
struct FrameCodecTests {
    private func makeChannel(maxFrameBytes: Int = Limits.default.maxFrameBytes) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            MessageToByteHandler(FrameEncoder()),
            ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes))
        )
        return channel
    }

    @Test("frames survive encode then decode through a pipeline")
    func roundTrip() throws {
        let channel = try self.makeChannel()
        for frame in Frames.all {
            try channel.writeOutbound(frame)
            let bytes = try #require(try channel.readOutbound(as: ByteBuffer.self))
            try channel.writeInbound(bytes)
            let decoded = try #require(try channel.readInbound(as: Tether_V1_Frame.self))
            #expect(decoded == frame)
        }
        #expect(try channel.finish().isClean)
    }

    @Test("the encoder writes a 4-byte big-endian length, then the serialized frame")
    func wireLayout() throws {
        var buffer = try Frames.encoded(Frames.heartbeat)
        let length = buffer.readInteger(endianness: .big, as: UInt32.self)
        #expect(length.map(Int.init) == buffer.readableBytes)
        let body = buffer.readBytes(length: buffer.readableBytes) ?? []
        #expect(try Tether_V1_Frame(serializedBytes: body) == Frames.heartbeat)
    }

    @Test("the decoder passes ByteToMessageDecoderVerifier, drip-fed included")
    func verifier() throws {
        var pairs: [(ByteBuffer, [Tether_V1_Frame])] = try Frames.small.map { (try Frames.encoded($0), [$0]) }
        pairs.append((try Frames.encoded(Frames.hello, Frames.heartbeat), [Frames.hello, Frames.heartbeat]))
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(maxFrameBytes: 1 << 20)
        }
    }

    @Test("a zero-length frame is an empty Frame")
    func zeroLength() throws {
        let channel = try self.makeChannel()
        try channel.writeInbound(Frames.raw(length: 0))
        let frame = try #require(try channel.readInbound(as: Tether_V1_Frame.self))
        #expect(frame.kind == nil)
        #expect(frame.kindName == "empty")
    }

    @Test("a declared length over the maximum fails at once, before any body arrives")
    func oversizedDeclaredLength() throws {
        let channel = try self.makeChannel(maxFrameBytes: 1_024)
        let error = #expect(throws: TetherError.self) {
            try channel.writeInbound(Frames.raw(length: 1_025))
        }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message.contains("1025") == true)
    }

    @Test("the default maximum is Limits.maxFrameBytes and the boundary is inclusive")
    func maximumBoundary() throws {
        let body = try Frames.hello.serializedBytes() as [UInt8]
        var exact = try Frames.encoded(Frames.hello)
        #expect(try FrameDecoder(maxFrameBytes: body.count).decodeFrame(from: &exact) == Frames.hello)
        #expect(exact.readableBytes == 0)

        var tooBig = try Frames.encoded(Frames.hello)
        let error = #expect(throws: TetherError.self) {
            _ = try FrameDecoder(maxFrameBytes: body.count - 1).decodeFrame(from: &tooBig)
        }
        #expect(error?.code == .frameTooLarge)
        #expect(FrameDecoder().maxFrameBytes == 4 * 1024 * 1024)

        var fourMiB = Frames.raw(length: UInt32(4 * 1024 * 1024))
        #expect(try FrameDecoder().decodeFrame(from: &fourMiB) == nil)
        var overFourMiB = Frames.raw(length: UInt32(4 * 1024 * 1024 + 1))
        #expect(throws: TetherError.self) { _ = try FrameDecoder().decodeFrame(from: &overFourMiB) }
    }

    @Test("an HTTP request on the worker port reads as a huge length: frame_too_large")
    func httpRequest() throws {
        let channel = try self.makeChannel()
        let error = #expect(throws: TetherError.self) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        }
        #expect(error?.code == .frameTooLarge)
    }

    @Test(
        "a body that is not a Frame is malformed_frame",
        arguments: [
            [0x0F, 0x01, 0x02] as [UInt8],  // wire type 7 does not exist
            [0x00, 0x01],  // field number 0 is invalid
            [0x0A, 0x7F, 0x01],  // field 1 claims 127 bytes, has 1
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],  // endless varint
            [0x0A, 0x02, 0x08, 0xFF],  // a Challenge whose varint is cut off
        ]
    )
    func malformedBody(body: [UInt8]) throws {
        let channel = try self.makeChannel()
        let error = #expect(throws: TetherError.self) {
            try channel.writeInbound(Frames.raw(length: UInt32(body.count), body: body))
        }
        #expect(error?.code == .malformedFrame)
    }

    @Test("unknown fields are skipped, so newer peers can add fields")
    func unknownFields() throws {
        var body = try Frames.heartbeat.serializedBytes() as [UInt8]
        // Field 1000, varint 1: tag (1000 << 3 | 0) = 8000 = 0xC0 0x3E.
        body += [0xC0, 0x3E, 0x01]
        // Field 15, length-delimited, 3 bytes.
        body += [0x7A, 0x03, 0x61, 0x62, 0x63]
        let channel = try self.makeChannel()
        try channel.writeInbound(Frames.raw(length: UInt32(body.count), body: body))
        let frame = try #require(try channel.readInbound(as: Tether_V1_Frame.self))
        #expect(frame.heartbeat == Frames.heartbeat.heartbeat)
        #expect(frame.kindName == "heartbeat")
    }

    @Test("decodeFrame leaves a partial frame in the buffer")
    func partialFrame() throws {
        let whole = try Frames.encoded(Frames.hello)
        var partial = whole.getSlice(at: whole.readerIndex, length: whole.readableBytes - 1)!
        let decoder = FrameDecoder()
        #expect(try decoder.decodeFrame(from: &partial) == nil)
        #expect(partial.readableBytes == whole.readableBytes - 1)
        var header = whole.getSlice(at: whole.readerIndex, length: 3)!
        #expect(try decoder.decodeFrame(from: &header) == nil)
    }

    @Test("frame builders fill in the right kind")
    func builders() {
        let error = Tether_V1_Frame.error(TetherError(.frameTooLarge, "too big"))
        #expect(error.error.code == "frame_too_large")
        #expect(error.error.message == "too big")
        let challenge = Tether_V1_Frame.challenge(nonce: [1, 2, 3], coordinatorVersion: "0.1.0")
        #expect(challenge.challenge.nonce == Data([1, 2, 3]))
        #expect(challenge.challenge.protocolMajor == ProtocolVersion.major)
        #expect(challenge.kindName == "challenge")
        let reject = Tether_V1_Frame.reject(code: .overloaded, message: "busy", retryAfterMilliseconds: 250)
        #expect(reject.reject.code == "overloaded")
        #expect(reject.reject.retryAfterMs == 250)
        #expect(ProtocolVersion.isSupported(major: 1))
        #expect(!ProtocolVersion.isSupported(major: 2))
    }
}
