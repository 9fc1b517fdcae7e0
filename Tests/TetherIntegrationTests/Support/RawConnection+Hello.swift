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

    /// Answers the challenge with a Hello that `configure` fills in (instance id, proof and
    /// protocol version are set). `andThen` frames are written in the same flush, right behind
    /// the Hello. Returns the challenge, or nil when none arrived.
    @discardableResult
    func sendHello(
        instanceId: String, key: SigningKey, andThen following: [Tether_V1_Frame] = [],
        _ configure: (inout Tether_V1_Hello) -> Void
    ) async throws -> Tether_V1_Frame? {
        guard let challenge = await waitForFrame(timeout: .seconds(10), { $0.challenge.nonce.count > 0 }) else { return nil }
        var hello = Tether_V1_Hello()
        configure(&hello)
        hello.protocolMajor = 1
        hello.instanceID = instanceId
        hello.proof = Data(HandshakeProof.compute(key: key, nonce: Array(challenge.challenge.nonce), instanceId: instanceId))
        var bytes: [UInt8] = []
        for frame in [Tether_V1_Frame.with { $0.hello = hello }] + following {
            let body: [UInt8] = try frame.serializedBytes()
            let length = UInt32(body.count)
            bytes += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
        }
        try await write(bytes)
        return challenge
    }
}

extension Tether_V1_FunctionConfig {
    /// A function of the raw tests, triggered by `event`.
    static func triggered(by event: String, id: String) -> Self {
        .with {
            $0.id = id
            $0.triggers = [.with { $0.event = .with { $0.event = event } }]
        }
    }
}
