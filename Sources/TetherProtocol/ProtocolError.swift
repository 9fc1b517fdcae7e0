import TetherEngine

/// A violation of the worker wire protocol, with a stable code the peer can match on.
///
/// The codes are the ones in ``TetherEngine/ErrorCode`` (for example `frame_too_large`,
/// `malformed_frame`, `unauthenticated`). The side that detects the error sends
/// ``Tether_V1_Frame/error(_:)`` built from it and closes the connection.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable, machine-readable code.
    public var code: ErrorCode
    /// A message for humans that says what went wrong and, where possible, what to do.
    public var message: String

    /// Creates a protocol error.
    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }
}
