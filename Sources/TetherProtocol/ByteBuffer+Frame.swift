import NIOCore
import SwiftProtobuf
import TetherEngine

extension ByteBuffer {
    /// Writes `frame` as a length-prefixed frame (4-byte big-endian length, then the bytes).
    ///
    /// - Returns: The number of bytes written, the prefix included.
    /// - Throws: A SwiftProtobuf encoding error, or ``TetherError`` with code `frame_too_large`
    ///   if the frame does not fit a 4-byte length.
    @discardableResult
    public mutating func writeFrame(_ frame: Tether_V1_Frame) throws -> Int {
        // SwiftProtobuf sizes the message first and serializes into an exactly-sized array;
        // one memcpy into the buffer is all this costs beyond that.
        let bytes: [UInt8] = try frame.serializedBytes()
        guard let length = UInt32(exactly: bytes.count) else {
            throw TetherError(
                .frameTooLarge,
                "frame of \(bytes.count) bytes does not fit the 4-byte length prefix"
            )
        }
        self.reserveCapacity(minimumWritableBytes: FrameDecoder.lengthFieldBytes + bytes.count)
        let prefix = self.writeInteger(length, endianness: .big)
        return prefix + self.writeBytes(bytes)
    }
}
