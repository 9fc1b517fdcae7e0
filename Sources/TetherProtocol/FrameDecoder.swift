import Foundation
import NIOCore
import SwiftProtobuf
import TetherEngine

/// Splits a byte stream into ``Tether_V1_Frame``s.
///
/// Each frame is a 4-byte big-endian length followed by that many bytes of a serialized
/// `tether.v1.Frame`. A declared length over `maxFrameBytes` is rejected as soon as the
/// length is read, before any of the body is buffered, with a ``TetherError`` whose code is
/// `frame_too_large`; a body that does not parse is rejected with `malformed_frame`.
/// Unknown fields are skipped, so newer peers may add fields. A zero-length frame decodes to
/// an empty `Frame` (`kind == nil`); what to do with it is the application's choice.
///
/// Use it through `ByteToMessageHandler(FrameDecoder(maxFrameBytes: limits.maxFrameBytes))`.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Tether_V1_Frame

    /// Size of the length prefix in bytes.
    public static let lengthFieldBytes = 4

    /// Largest accepted frame body, in bytes (the length prefix not included).
    public let maxFrameBytes: Int

    /// Creates a decoder that rejects frames whose body is larger than `maxFrameBytes`.
    public init(maxFrameBytes: Int = Limits.default.maxFrameBytes) {
        precondition(maxFrameBytes >= 0, "maxFrameBytes must not be negative")
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try self.decodeFrame(from: &buffer) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // Deliver every complete frame; a truncated last frame is left for
        // `ByteToMessageHandler` to report as leftover data.
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Reads one frame from `buffer` if a complete one is there.
    ///
    /// Leaves `buffer` untouched and returns `nil` when more bytes are needed. Usable
    /// without a channel, for example to parse frames recorded in a file.
    ///
    /// - Throws: ``TetherError`` with code `frame_too_large` or `malformed_frame`.
    public func decodeFrame(from buffer: inout ByteBuffer) throws(TetherError) -> Tether_V1_Frame? {
        guard let declared = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        // UInt32 always fits in Int on the 64-bit platforms we support.
        let length = Int(declared)
        guard length <= self.maxFrameBytes else {
            throw TetherError(
                .frameTooLarge,
                "frame of \(length) bytes exceeds the maximum of \(self.maxFrameBytes) bytes"
            )
        }
        guard buffer.readableBytes >= Self.lengthFieldBytes + length else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: Self.lengthFieldBytes)
        let body = buffer.readSlice(length: length)!
        do {
            return try Self.parse(body)
        } catch {
            throw TetherError(
                .malformedFrame,
                "frame of \(length) bytes is not a valid tether.v1.Frame: \(error)"
            )
        }
    }

    /// Parses the body in place, without copying it.
    ///
    /// The `Data` wraps the buffer's memory only for the duration of the parse; SwiftProtobuf
    /// copies `bytes` fields and unknown fields out of it, so nothing refers to it afterwards.
    private static func parse(_ body: ByteBuffer) throws -> Tether_V1_Frame {
        try body.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else {
                return Tether_V1_Frame()
            }
            let view = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none)
            return try Tether_V1_Frame(serializedBytes: view)
        }
    }
}
