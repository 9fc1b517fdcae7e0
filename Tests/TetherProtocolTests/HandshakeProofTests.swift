import Testing
import TetherProtocol

@Suite("Handshake proof")
struct HandshakeProofTests {
    let key = SigningKey.generate()
    let nonce = HandshakeProof.makeNonce()

    @Test("a proof verifies with the same key, nonce and instance id")
    func verifies() {
        let proof = HandshakeProof.compute(key: self.key, nonce: self.nonce, instanceId: "worker-1")
        #expect(proof.count == 32)
        #expect(HandshakeProof.verify(proof, key: self.key, nonce: self.nonce, instanceId: "worker-1"))
    }

    @Test("a proof fails with another key, nonce or instance id, or when altered")
    func rejects() {
        let proof = HandshakeProof.compute(key: self.key, nonce: self.nonce, instanceId: "worker-1")
        #expect(!HandshakeProof.verify(proof, key: .generate(), nonce: self.nonce, instanceId: "worker-1"))
        #expect(!HandshakeProof.verify(proof, key: self.key, nonce: HandshakeProof.makeNonce(), instanceId: "worker-1"))
        #expect(!HandshakeProof.verify(proof, key: self.key, nonce: self.nonce, instanceId: "worker-2"))
        var flipped = proof
        flipped[0] ^= 1
        #expect(!HandshakeProof.verify(flipped, key: self.key, nonce: self.nonce, instanceId: "worker-1"))
        #expect(!HandshakeProof.verify(Array(proof.dropLast()), key: self.key, nonce: self.nonce, instanceId: "worker-1"))
        #expect(!HandshakeProof.verify([], key: self.key, nonce: self.nonce, instanceId: "worker-1"))
    }

    @Test("the proof is HMAC-SHA256(key, nonce || utf8(instanceId)), as other SDKs must compute it")
    func knownAnswer() throws {
        // Computed independently with Python's hmac module.
        let key = try SigningKey(bytes: Array(0..<32))
        let proof = HandshakeProof.compute(key: key, nonce: Array(32..<64), instanceId: "worker-1")
        let hex = proof.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        #expect(hex.joined() == "b14b42d4258e8888b4f4a844e82be53f1859b7249450b292dae1d452fc6508c7")
    }

    @Test("nonces are 32 random bytes")
    func nonces() {
        let a = HandshakeProof.makeNonce()
        let b = HandshakeProof.makeNonce()
        #expect(a.count == 32)
        #expect(a != b)
    }
}
