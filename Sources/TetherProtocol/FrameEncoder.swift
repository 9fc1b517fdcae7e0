import NIOCore

/// Writes ``Tether_V1_Frame``s as a 4-byte big-endian length followed by the serialized frame.
///
/// Use it through `MessageToByteHandler(FrameEncoder())`. The encoder does not enforce the
/// peer's maximum frame size: check sizes (step outputs, event payloads) before sending, since
/// a frame the peer rejects costs the connection.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Tether_V1_Frame

    /// Creates an encoder.
    public init() {}

    public func encode(data: Tether_V1_Frame, out: inout ByteBuffer) throws {
        try out.writeFrame(data)
    }
}
