import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

/// Raw clients written from docs/protocol.md: only the lease holder's results count, and frames
/// that answer Welcome at once are never a protocol error.
@Suite("Lease holders, live")
struct LeaseHolderLiveTests {
    static func result(request: String, run: String, output: String) -> Tether_V1_Frame {
        .with {
            $0.stepResult = .with {
                $0.requestID = request
                $0.runID = run
                $0.runCompleted = .with { $0.output = Data(output.utf8) }
            }
        }
    }

    @Test("a raw client of another app, or another instance, cannot complete a run it holds no lease for")
    func forgeryAcrossApps() async throws {
        let coordinator = try await TestCoordinator()
        let port = coordinator.endpoints.workerPort
        let ca = coordinator.credentials.tls.caCertificatePath
        let key = coordinator.credentials.key

        let holder = try await RawConnection.connect(port: port, tlsCAFile: ca)
        try await holder.sendHello(instanceId: "holder", key: key) {
            $0.appName = "shop"
            $0.capacity = 1
            $0.functions = [.triggered(by: "order/created", id: "process-order")]
        }
        #expect(await holder.waitForFrame { $0.welcome.connectionID.count > 0 } != nil)
        let evil = try await RawConnection.connect(port: port, tlsCAFile: ca)
        try await evil.sendHello(instanceId: "evil", key: key) {
            $0.appName = "other"
            $0.capacity = 1
        }
        #expect(await evil.waitForFrame { $0.welcome.connectionID.count > 0 } != nil)
        let sameApp = try await RawConnection.connect(port: port, tlsCAFile: ca)
        try await sameApp.sendHello(instanceId: "another-instance", key: key) {
            $0.appName = "shop"
            $0.capacity = 0
        }
        #expect(await sameApp.waitForFrame { $0.welcome.connectionID.count > 0 } != nil)

        let client = try coordinator.client()
        let sent = try await client.request(.POST, "/v1/events", body: Array(#"{"name":"order/created","data":{}}"#.utf8))
        let runId = try #require(sent.json?["events"]?[0]?["runs"]?[0]?.stringValue)
        let request = try #require(await holder.waitForFrame { $0.stepRequest.runID == runId })
        let requestId = request.stepRequest.requestID

        // A made-up request id, and the holder's real one, from another app.
        try await evil.write(Self.result(request: "made-up", run: runId, output: #""forged""#))
        try await evil.write(Self.result(request: requestId, run: runId, output: #""forged""#))
        // The real request id from another instance of the same app.
        try await sameApp.write(Self.result(request: requestId, run: runId, output: #""forged""#))
        for (connection, request) in [(evil, "made-up"), (evil, requestId), (sameApp, requestId)] {
            let ack = try #require(await connection.waitForFrame { $0.stepResultAck.requestID == request })
            #expect(ack.stepResultAck.accepted == false)
        }
        let run = try await client.request(.GET, "/v1/runs/\(runId)").json
        #expect(run?["status"]?.stringValue == "running")
        #expect(run?["output"]?.isNull != false)

        // The holder's result with another run's id is refused too; its own result counts.
        try await holder.write(Self.result(request: requestId, run: "01JUNKRUN0000000000000000", output: "1"))
        try await holder.write(Self.result(request: requestId, run: runId, output: #""real""#))
        #expect(await eventually(timeout: .seconds(10)) {
            holder.frames.filter { $0.stepResultAck.requestID == requestId }.map(\.stepResultAck.accepted) == [false, true]
        })
        let done = try await client.request(.GET, "/v1/runs/\(runId)").json
        #expect(done?["status"]?.stringValue == "completed")
        #expect(done?["output"]?.stringValue == "real")

        let metrics = String(decoding: try await client.request(.GET, "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"tether_step_results_refused_total{reason="no_lease"} 1"#))
        #expect(metrics.contains(#"tether_step_results_refused_total{reason="not_holder"} 2"#))
        #expect(metrics.contains(#"tether_step_results_refused_total{reason="run_mismatch"} 1"#))
        for connection in [holder, evil, sameApp] { await connection.close() }
        await coordinator.shutdown()
    }

    @Test("frames right behind the Hello, before Welcome is seen, are held and handled: 40 of 40 connections stay up")
    func framesRightAfterHello() async throws {
        let coordinator = try await TestCoordinator()
        let port = coordinator.endpoints.workerPort
        let ca = coordinator.credentials.tls.caCertificatePath
        for attempt in 0..<40 {
            let raw = try await RawConnection.connect(port: port, tlsCAFile: ca)
            let heartbeat = Tether_V1_Frame.with { $0.heartbeat = .with { $0.sequence = 1 } }
            let capacity = Tether_V1_Frame.with { $0.capacityUpdate = .with { $0.capacity = 2 } }
            try await raw.sendHello(instanceId: "eager-\(attempt)", key: coordinator.credentials.key, andThen: [heartbeat, capacity]) {
                $0.appName = "shop"
                $0.capacity = 1
            }
            let ack = await raw.waitForFrame { $0.heartbeatAck.sequence == 1 }
            #expect(ack != nil, "attempt \(attempt): the heartbeat is answered")
            #expect(raw.frames.allSatisfy { $0.error.code.isEmpty }, "attempt \(attempt): no error frame")
            #expect(raw.channel.isActive)
            await raw.close()
        }
        await coordinator.shutdown()
    }

    @Test("an unauthenticated Hello with 1 MiB of labels or a 1 MiB instance id, or a 1 MiB function name, is refused as invalid_config")
    func hostileHello() async throws {
        let coordinator = try await TestCoordinator()
        let port = coordinator.endpoints.workerPort
        let ca = coordinator.credentials.tls.caCertificatePath
        let labels = try await RawConnection.connect(port: port, tlsCAFile: ca)
        try await labels.sendHello(instanceId: "w", key: SigningKey.generate()) {
            $0.appName = "shop"
            $0.labels = Dictionary(uniqueKeysWithValues: (0..<100).map { ("k\($0)", String(repeating: "x", count: 10_000)) })
        }
        let reject = try #require(await labels.waitForFrame { !$0.reject.code.isEmpty })
        #expect(reject.reject.code == "invalid_config", "bounds are checked before the proof")
        let instance = try await RawConnection.connect(port: port, tlsCAFile: ca)
        try await instance.sendHello(instanceId: "w\n" + String(repeating: "i", count: 1 << 20), key: SigningKey.generate()) {
            $0.appName = "shop"
        }
        #expect(try #require(await instance.waitForFrame { !$0.reject.code.isEmpty }).reject.code == "invalid_config")
        let name = try await RawConnection.connect(port: port, tlsCAFile: ca)
        try await name.sendHello(instanceId: "w", key: coordinator.credentials.key) {
            $0.appName = "shop"
            $0.functions = [.with {
                $0.id = "f"
                $0.name = String(repeating: "n", count: 1 << 20)
                $0.triggers = [.with { $0.event = .with { $0.event = "a/b" } }]
            }]
        }
        #expect(try #require(await name.waitForFrame { !$0.reject.code.isEmpty }).reject.code == "invalid_config")
        await coordinator.shutdown()
    }
}
