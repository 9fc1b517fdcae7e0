import Foundation
import TetherProtocol

extension RawConnection {
    /// Answers the coordinator's challenge with a Hello for app "shop", signed with `key` (a wrong
    /// key gets `Reject`). Returns the challenge, or nil when none arrived.
    @discardableResult
    func sendHello(instanceId: String, capacity: UInt32 = 1, key: SigningKey) async throws -> Tether_V1_Frame? {
        guard let challenge = await waitForFrame(timeout: .seconds(10), { $0.challenge.nonce.count > 0 }) else { return nil }
        var hello = Tether_V1_Frame()
        hello.hello = .with {
            $0.protocolMajor = 1
            $0.instanceID = instanceId
            $0.appName = "shop"
            $0.capacity = capacity
            $0.proof = Data(HandshakeProof.compute(key: key, nonce: Array(challenge.challenge.nonce), instanceId: instanceId))
        }
        try await write(hello)
        return challenge
    }
}
