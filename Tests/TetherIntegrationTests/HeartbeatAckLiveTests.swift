import Foundation
import Testing
import TetherEngine
import TetherProtocol

/// Heartbeat acks by protocol minor version (docs/protocol.md, "Heartbeats"): a worker of minor 0
/// gets a `HeartbeatAck` for every heartbeat; one of minor 1 or later gets one for every heartbeat
/// that lists requests, and for every other idle one.
@Suite("Heartbeat acks", .serialized)
struct HeartbeatAckLiveTests {
    /// Registers a raw worker announcing `minor`, sends `heartbeats` (their in-flight lists) one by
    /// one, and returns the sequences acknowledged.
    static func acknowledged(minor: UInt32, heartbeats: [[String]]) async throws -> [UInt64] {
        let coordinator = try await TestCoordinator()
        let raw = try await RawConnection.connect(
            port: coordinator.endpoints.workerPort, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        try await raw.sendHello(instanceId: "acks", key: coordinator.credentials.key) {
            $0.appName = "shop"
            $0.capacity = 1
            $0.protocolMinor = minor
        }
        #expect(await raw.waitForFrame { $0.welcome.connectionID.count > 0 } != nil)
        for (index, inFlight) in heartbeats.enumerated() {
            try await raw.write(.with { $0.heartbeat = .with { $0.sequence = UInt64(index + 1); $0.inFlightRequestIds = inFlight } })
            // Each heartbeat is answered (or not) before the next is sent: wait for the answer a
            // little, then go on.
            _ = await raw.waitForFrame(timeout: .milliseconds(300)) {
                if case .heartbeatAck(let ack) = $0.kind { return ack.sequence == UInt64(index + 1) }
                return false
            }
        }
        // The last one's answer, if any, has had time to arrive.
        try await Task.sleep(for: .milliseconds(100))
        let acks = raw.frames.compactMap { frame -> UInt64? in
            if case .heartbeatAck(let ack) = frame.kind { return ack.sequence }
            return nil
        }
        await raw.close()
        await coordinator.shutdown()
        return acks
    }

    @Test("minor 0: every heartbeat is answered")
    func everyAck() async throws {
        let acks = try await Self.acknowledged(minor: 0, heartbeats: Array(repeating: [], count: 5))
        #expect(acks == [1, 2, 3, 4, 5])
    }

    @Test("minor 1: every other idle heartbeat is answered, and every one that lists requests or follows one that did")
    func sparseAcks() async throws {
        let acks = try await Self.acknowledged(
            minor: ProtocolVersion.sparseIdleAcks, heartbeats: [[], [], [], [], ["r-1"], ["r-1"], [], [], []])
        // 1 answered, 2 idle after an answer, 3 answered, 4 idle after an answer; 5 and 6 list a
        // request; 7 follows one that did (not idle); 8 idle after an answer; 9 answered.
        #expect(acks == [1, 3, 5, 6, 7, 9])
    }
}
