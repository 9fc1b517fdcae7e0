import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Drain: POST /v1/admin/drain", .serialized)
struct DrainTests {
    @Test("drain tells each worker to reconnect within the window, stops accepting, and stops the coordinator")
    func drain() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        // Bad requests change nothing.
        let tooShort = try await client.request(.POST, "/v1/admin/drain", body: Array(#"{"reconnectWithinMs": 5}"#.utf8))
        #expect(tooShort.status == 400)
        #expect(tooShort.json?["error"]?["code"]?.stringValue == "invalid_input")
        let garbage = try await client.request(.POST, "/v1/admin/drain", body: Array("drain!".utf8))
        #expect(garbage.status == 400)
        #expect(garbage.json?["error"]?["code"]?.stringValue == "invalid_json")

        // A worker, registered by hand so the test sees the frames it gets.
        let raw = try await RawConnection.connect(
            port: coordinator.endpoints.workerPort, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        #expect(try await raw.sendHello(instanceId: "raw", key: coordinator.credentials.key) != nil)
        #expect(await raw.waitForFrame { $0.welcome.connectionID.count > 0 } != nil)

        let accepted = try await client.request(.POST, "/v1/admin/drain", body: Array(#"{"reconnectWithinMs": 1500}"#.utf8))
        #expect(accepted.status == 202)
        #expect(accepted.json?["status"]?.stringValue == "draining")
        // At once, before the drain has started (the 202 leaves first): a second one is a conflict.
        let again = try await client.request(.POST, "/v1/admin/drain")
        #expect(again.status == 409)
        #expect(again.json?["error"]?["code"]?.stringValue == "draining")
        // No longer ready, from the 202 on: a load balancer stops sending work here.
        let readiness = try await client.request(.GET, "/readyz")
        #expect(readiness.status == 503)
        #expect(readiness.json?["error"]?["code"]?.stringValue == "draining")
        let reconnect = try #require(await raw.waitForFrame { $0.reconnect.withinMs > 0 })
        #expect(reconnect.reconnect.withinMs == 1_500)
        #expect(await raw.waitUntilClosed())

        // The coordinator's service returns on its own: nothing else asked it to stop.
        let stopped = await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                _ = try? await coordinator.task.value
                return true
            }
            race.addTask {
                try? await Task.sleep(for: .seconds(20))
                return false
            }
            let first = await race.next() ?? false
            race.cancelAll()
            return first
        }
        #expect(stopped)
        await #expect(throws: (any Error).self) {
            _ = try await RawConnection.connect(
                port: coordinator.endpoints.workerPort, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        }
        await coordinator.shutdown()
    }
}
