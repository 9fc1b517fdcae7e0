import Foundation
import Synchronization
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

/// The handshake limiter's tiers on a real worker port: slots, a queue before TLS, `overloaded`
/// with a random retry-after, refusal; and a real worker that gets in once the storm passes.
@Suite("Handshake limiter, live", .serialized)
struct HandshakeLimiterLiveTests {
    @Test("2 slots, 2 queued, then overloaded with retry-after, then refused; a real worker gets in afterwards")
    func tiers() async throws {
        let coordinator = try await TestCoordinator {
            $0.timing.maxConcurrentHandshakes = 2  // one reject slot (2 / 8, at least 1)
            $0.timing.maxQueuedHandshakes = 2
            $0.handshakeTimeoutMilliseconds = 3_000  // a queued connection gives up after 1.5 s
        }
        let client = try coordinator.client()
        let port = coordinator.endpoints.workerPort
        func handshakes() async throws -> JSONValue? {
            try await client.request(.GET, "/v1/status").json?["handshakes"]
        }

        // Connections that send a ClientHello and then nothing (a socket that sends nothing at all
        // takes no slot): two take the slots, two wait in the queue.
        var silent: [RawConnection] = []
        for _ in 0..<4 {
            silent.append(try await RawConnection.connectStallingTLS(port: port))
        }
        #expect(try await eventually(timeout: .seconds(10)) { try await handshakes()?["queued"]?.int64Value == 2 })
        #expect(try await handshakes()?["inProgress"]?.int64Value == 2)

        // The next one gets TLS only to be told `overloaded`, with a random retry-after.
        let rejected = try await RawConnection.connect(port: port, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        let reject = await rejected.waitForFrame { $0.reject.code.isEmpty == false }
        #expect(reject?.reject.code == ErrorCode.overloaded.rawValue)
        #expect((1_000...5_000).contains(Int(reject?.reject.retryAfterMs ?? 0)))
        #expect(await rejected.waitUntilClosed())

        // A silent one takes the only reject slot; the one after that is closed before TLS.
        silent.append(try await RawConnection.connectStallingTLS(port: port))
        #expect(try await eventually(timeout: .seconds(10)) { try await handshakes()?["overloaded"]?.int64Value == 2 })
        let refused = try await RawConnection.connectStallingTLS(port: port)
        #expect(await refused.waitUntilClosed(timeout: .seconds(2)), "closed at once, before TLS")
        let during = try await handshakes()
        #expect(during?["refused"]?.int64Value == 1)
        #expect(during?["peakInProgress"]?.int64Value == 2)

        // A real worker arrives now; it backs off and gets in once the silent ones time out.
        let worker = TestWorker(
            functions: [TetherFunction("noop", trigger: .event("test/noop")) { (_: Context<JSONValue>) -> Int in 1 }],
            options: coordinator.workerOptions(instanceId: "patient", capacity: 1))
        let registered = try await eventually(timeout: .seconds(60)) {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1
        }
        #expect(registered)
        let after = try await handshakes()
        #expect(after?["queueTimeouts"]?.int64Value ?? 0 >= 2, "the silent queued connections gave up before TLS")
        #expect(after?["peakInProgress"]?.int64Value == 2)
        let metrics = try await client.request(.GET, "/metrics")
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains(#"tether_worker_handshakes_rejected_total{code="refused"}"#))
        #expect(text.contains(#"tether_worker_handshakes_rejected_total{code="overloaded"}"#))
        #expect(text.contains("tether_worker_handshakes_queued "))
        print("handshake limiter after the test: \(after.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "?")")
        for connection in silent { await connection.close() }
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("a worker shut down while its connection waits for a slot leaves as soon as it is welcomed")
    func shutdownDuringHandshake() async throws {
        let coordinator = try await TestCoordinator {
            $0.timing.maxConcurrentHandshakes = 1
            $0.handshakeTimeoutMilliseconds = 30_000
        }
        let client = try coordinator.client()
        // A connection stalled after its ClientHello holds the only slot, so the worker's connection
        // queues before TLS.
        let silent = try await RawConnection.connectStallingTLS(port: coordinator.endpoints.workerPort)
        _ = try await eventually { try await client.request(.GET, "/v1/status").json?["handshakes"]?["inProgress"]?.int64Value == 1 }
        let worker = TestWorker(
            functions: [TetherFunction("noop", trigger: .event("test/noop")) { (_: Context<JSONValue>) -> Int in 1 }],
            options: coordinator.workerOptions(instanceId: "leaving-early", capacity: 1))
        #expect(try await eventually { try await client.request(.GET, "/v1/status").json?["handshakes"]?["queued"]?.int64Value == 1 })

        // Shutdown finishes its drain at once (nothing in flight, no connection yet); then the slot
        // frees, the connection is welcomed, and the worker must close it rather than stay.
        let returned = Mutex(false)
        Task {
            await worker.shutdown()
            returned.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(300))
        await silent.close()
        let finished = await eventually(timeout: .seconds(30)) { returned.withLock { $0 } }
        #expect(finished, "worker.shutdown() returned")
        #expect(try await eventually(timeout: .seconds(10)) {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.isEmpty == true
        })
        await coordinator.shutdown()
    }
}
