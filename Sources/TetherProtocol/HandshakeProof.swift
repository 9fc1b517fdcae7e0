import Crypto

/// The worker's proof that it holds the signing key, without sending the key.
///
/// The coordinator's `Challenge` carries a fresh random nonce; the worker answers with
/// `HMAC-SHA256(key, nonce || utf8(instanceId))` in `Hello.proof`, and the coordinator checks it
/// with the same key. Binding the instance id stops a proof seen on one connection from being
/// replayed under another identity; the fresh nonce stops it being replayed at all.
public enum HandshakeProof {
    /// Length of a nonce made by ``makeNonce()``, in bytes.
    public static let nonceByteCount = 32

    /// Computes `HMAC-SHA256(key, nonce || utf8(instanceId))`.
    public static func compute(key: SigningKey, nonce: [UInt8], instanceId: String) -> [UInt8] {
        let code = HMAC<SHA256>.authenticationCode(
            for: Self.message(nonce: nonce, instanceId: instanceId),
            using: SymmetricKey(data: key.bytes)
        )
        return Array(code)
    }

    /// Checks a proof in constant time; a proof of the wrong length is simply invalid.
    public static func verify(_ proof: [UInt8], key: SigningKey, nonce: [UInt8], instanceId: String) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(
            proof,
            authenticating: Self.message(nonce: nonce, instanceId: instanceId),
            using: SymmetricKey(data: key.bytes)
        )
    }

    /// Makes a fresh nonce of ``nonceByteCount`` bytes from the system's secure random number generator.
    public static func makeNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<Self.nonceByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    private static func message(nonce: [UInt8], instanceId: String) -> [UInt8] {
        nonce + Array(instanceId.utf8)
    }
}
