import Crypto
import Foundation
import TetherEngine

/// The shared secret a worker proves it holds during the handshake.
///
/// 32 random bytes, written as `tsk_` followed by 64 lowercase hex digits. The key never
/// crosses the wire: the worker sends ``HandshakeProof/compute(key:nonce:instanceId:)`` instead.
/// `description` never shows the secret, only a ``fingerprint``, so a key can be logged safely.
public struct SigningKey: Sendable, Equatable, CustomStringConvertible {
    /// Prefix of the text form.
    public static let prefix = "tsk_"
    /// Number of secret bytes.
    public static let byteCount = 32

    /// The secret bytes; internal so that only this module's HMAC code touches them.
    let bytes: [UInt8]

    /// Creates a key from exactly ``byteCount`` secret bytes.
    public init(bytes: [UInt8]) throws(TetherError) {
        guard bytes.count == Self.byteCount else {
            throw TetherError(
                .invalidInput,
                "a signing key is \(Self.byteCount) bytes, got \(bytes.count)"
            )
        }
        self.bytes = bytes
    }

    /// Generates a new random key from the system's secure random number generator.
    public static func generate() -> SigningKey {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<Self.byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try! SigningKey(bytes: bytes)
    }

    /// Parses the text form `tsk_` + 64 hex digits; surrounding whitespace and newlines are ignored.
    ///
    /// - Throws: ``TetherError`` with code `invalid_input` and a message giving the expected format.
    public init(parsing text: String) throws(TetherError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let expected = "expected \(Self.prefix) followed by \(Self.byteCount * 2) hex digits (create one with `tether keys generate`)"
        guard trimmed.hasPrefix(Self.prefix) else {
            throw TetherError(.invalidInput, "invalid signing key: \(expected)")
        }
        let hex = trimmed.utf8.dropFirst(Self.prefix.utf8.count)
        guard hex.count == Self.byteCount * 2 else {
            throw TetherError(
                .invalidInput,
                "invalid signing key: \(expected), got \(hex.count) characters after the prefix"
            )
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        var high: UInt8? = nil
        for character in hex {
            guard let nibble = Self.nibble(character) else {
                throw TetherError(.invalidInput, "invalid signing key: \(expected), found a non-hex character")
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        try self.init(bytes: bytes)
    }

    /// Reads a key file holding the text form (a trailing newline is fine).
    ///
    /// - Throws: ``TetherError`` with code `invalid_input` naming the path when the file cannot be
    ///   read or does not hold a key.
    public init(contentsOfFile path: String) throws {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TetherError(.invalidInput, "cannot read signing key file \(path): \(Self.reason(error))")
        }
        do {
            try self.init(parsing: contents)
        } catch {
            throw TetherError(error.code, "\(path): \(error.message)")
        }
    }

    /// The text form, `tsk_` + 64 lowercase hex digits. This is the secret: handle with care.
    public var text: String {
        Self.prefix + Self.hex(self.bytes)
    }

    /// The first 8 hex digits of the SHA-256 of the key: safe to log, enough to tell keys apart.
    public var fingerprint: String {
        String(Self.hex(Array(SHA256.hash(data: self.bytes))).prefix(8))
    }

    /// A redacted form that is safe to log, e.g. `tsk_…(redacted, fingerprint 1a2b3c4d)`.
    public var description: String {
        "\(Self.prefix)…(redacted, fingerprint \(self.fingerprint))"
    }

    /// Compares in constant time, so comparing keys leaks nothing through timing.
    public static func == (lhs: SigningKey, rhs: SigningKey) -> Bool {
        guard lhs.bytes.count == rhs.bytes.count else { return false }
        var difference: UInt8 = 0
        for (l, r) in zip(lhs.bytes, rhs.bytes) {
            difference |= l ^ r
        }
        return difference == 0
    }

    /// A short reason for a file error ("No such file or directory"), not the whole NSError.
    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
