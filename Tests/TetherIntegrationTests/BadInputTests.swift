import Foundation
import TetherProcess
import Testing
import Tether
import TetherEngine
import NIOHTTP1
import TetherProtocol

@Suite("Bad input", .serialized)
struct BadInputTests {
    @Test("a worker with the wrong signing key is rejected as unauthenticated; nothing is registered")
    func wrongSigningKey() async throws {
        let coordinator = try await TestCoordinator()
        let ledger = StepLedger()
        let worker = TestWorker(
            functions: [orderFunction(worker: "w", ledger: ledger)],
            options: coordinator.workerOptions(instanceId: "intruder", capacity: 1, key: SigningKey.generate()))
        await #expect {
            try await worker.task.value
        } throws: { error in
            (error as? TetherError)?.code == .unauthenticated
        }
        let functions = try await coordinator.client().request(.GET, "/v1/functions").json
        #expect(functions?["functions"]?.arrayValue?.isEmpty == true)
        let status = try await coordinator.client().request(.GET, "/v1/status").json
        #expect(status?["workers"]?.arrayValue?.isEmpty == true)

        // The same handshake, by hand: the Reject frame says unauthenticated and the connection closes.
        let raw = try await RawConnection.connect(
            port: coordinator.endpoints.workerPort, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        #expect(try await raw.sendHello(instanceId: "raw", key: SigningKey.generate()) != nil)
        let reject = try #require(await raw.waitForFrame { $0.reject.code.count > 0 })
        #expect(reject.reject.code == "unauthenticated")
        #expect(await raw.waitUntilClosed())
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("plaintext and garbage bytes on the worker port close the connection; the coordinator is unharmed")
    func garbageOnWorkerPort() async throws {
        let coordinator = try await TestCoordinator()
        let plaintext = try await RawConnection.connect(port: coordinator.endpoints.workerPort, tlsCAFile: nil)
        try await plaintext.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(await plaintext.waitUntilClosed())

        let garbage = try await RawConnection.connect(port: coordinator.endpoints.workerPort, tlsCAFile: nil)
        var random = SystemRandomNumberGenerator()
        try await garbage.write((0..<4_096).map { _ in UInt8.random(in: 0...255, using: &random) })
        #expect(await garbage.waitUntilClosed())

        // A TLS client that sends a frame that is not protobuf.
        let malformed = try await RawConnection.connect(
            port: coordinator.endpoints.workerPort, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        _ = await malformed.waitForFrame { $0.challenge.nonce.count > 0 }
        try await malformed.write([0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF])
        let error = try #require(await malformed.waitForFrame { $0.error.code.count > 0 })
        #expect(error.error.code == "malformed_frame")
        #expect(await malformed.waitUntilClosed())

        // Still healthy, and a real worker still works.
        let health = try await coordinator.client().request(.GET, "/healthz")
        #expect(health.status == 200)
        let ledger = StepLedger()
        let worker = TestWorker(
            functions: [orderFunction(worker: "w", ledger: ledger)],
            options: coordinator.workerOptions(instanceId: "w", capacity: 2))
        let registered = try await eventually {
            try await coordinator.client().request(.GET, "/v1/functions").json?["functions"]?.arrayValue?.count == 1
        }
        #expect(registered)
        let (_, runIds) = try await coordinator.client().send("order/created", data: ["orderId": "o-1", "amount": 1])
        #expect(runIds.count == 1)
        let runs = try await coordinator.client().waitForRuns(runIds)
        #expect(runs.values.first?["status"]?.stringValue == "completed")
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("a frame over the maximum gets an error frame, then the connection closes")
    func oversizedFrame() async throws {
        let coordinator = try await TestCoordinator()
        let raw = try await RawConnection.connect(
            port: coordinator.endpoints.workerPort, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        _ = await raw.waitForFrame { $0.challenge.nonce.count > 0 }
        let declared = UInt32(Limits.default.maxFrameBytes + 1)
        try await raw.write(
            [UInt8(declared >> 24), UInt8(declared >> 16 & 0xFF), UInt8(declared >> 8 & 0xFF), UInt8(declared & 0xFF)]
                + [UInt8](repeating: 7, count: 1_024))
        let error = try #require(await raw.waitForFrame { $0.error.code.count > 0 })
        #expect(error.error.code == "frame_too_large")
        #expect(await raw.waitUntilClosed())
        #expect(try await coordinator.client().request(.GET, "/healthz").status == 200)
        await coordinator.shutdown()
    }

    @Test("a function whose trigger cannot be parsed is rejected with invalid_config naming it")
    func invalidTrigger() async throws {
        let coordinator = try await TestCoordinator()
        let broken = TetherFunction("nightly-report", trigger: .cron("61 * * * *")) { (_: Context<TestOrder>) in }
        let worker = TestWorker(functions: [broken], options: coordinator.workerOptions(instanceId: "w", capacity: 1))
        await #expect {
            try await worker.task.value
        } throws: { error in
            guard let error = error as? TetherError else { return false }
            return error.code == .invalidConfig && error.message.contains("nightly-report")
        }
        let functions = try await coordinator.client().request(.GET, "/v1/functions").json
        #expect(functions?["functions"]?.arrayValue?.isEmpty == true)
        await worker.shutdown()
        await coordinator.shutdown()
    }

    /// What only a real HTTP server shows; every other refusal is checked in memory
    /// (`Tests/TetherCoordinatorTests/Routes/RouteTests.swift`).
    @Test("bad HTTP framing and a body over 8 MiB get 4xx with the error body; the coordinator keeps serving")
    func badHTTPInput() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        let port = coordinator.endpoints.httpPort
        let huge = #"{"name":"a","data":{"x":""# + String(repeating: "x", count: 9 * 1024 * 1024) + #""}}"#
        let tooLarge = try await client.request(.POST, "/v1/events", body: Array(huge.utf8))
        #expect(tooLarge.status == 413)
        #expect(tooLarge.json?["error"]?["code"]?.stringValue == "payload_too_large")
        // A method a path does not serve: 405 with Allow; HEAD is served wherever GET is.
        let trace = try await HTTPExchange.send(port: port, .TRACE, "/v1/status")
        #expect(trace.status == 405)
        #expect(trace.headers.first(name: "allow") == "GET, HEAD")
        let head = try await HTTPExchange.send(port: port, .HEAD, "/v1/status")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        // A body that breaks HTTP's chunked framing is the client's fault: 400 with the error body.
        for size in ["zz", "ffffffffffffffffffff"] {
            let answer = try await rawHTTP(
                port: port,
                "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + "\(size)\r\nabc\r\n0\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(size): \(answer.prefix(200))")
            #expect(answer.contains(#""code":"invalid_input""#), "\(size): \(answer.prefix(400))")
        }
        // Requests the HTTP decoder cannot parse get the JSON body too, then the connection closes.
        let manyHeaders = (0..<10_000).map { "X-H\($0): v\r\n" }.joined()
        for request in [
            "FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "GET /\(String(repeating: "a", count: 100_000)) HTTP/1.1\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\(manyHeaders)\r\n",
        ] {
            let answer = try await rawHTTP(port: port, request)
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(200))")
            #expect(answer.contains(#""code":"invalid_input""#), "\(answer.prefix(300))")
        }
        // HTTP/1.0 without keep-alive: one answer, then the connection closes (a second request
        // on it is not read).
        let old = try await rawHTTP(port: port, "GET /healthz HTTP/1.0\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n")
        #expect(old.hasPrefix("HTTP/1.1 200"), "\(old.prefix(200))")
        #expect(old.components(separatedBy: "HTTP/1.1 ").count == 2, "exactly one answer: \(old)")
        #expect(try await client.request(.GET, "/healthz").status == 200)
        await coordinator.shutdown()
    }

    @Test("no number in an event's ts crashes the coordinator: each is a 400, and it keeps serving")
    func extremeTimestamps() async throws {
        // A child process, so that a trap shows as the coordinator dying, not as the test runner dying.
        let directory = try TemporaryDirectory("tether-bad-ts")
        let coordinator = try await ChildCoordinator.start(
            dataDirectory: directory.path + "/data", httpPort: try await freePort(), workerPort: try await freePort(),
            logPath: directory.path + "/coordinator.log")
        let client = try coordinator.client()
        let cases: [(ts: String, code: String)] =
            [
                "1e19", "9223372036854775807", "9223372036854775808", "18446744073709551616", "1.7e308", "-1e19",
                "-9223372036854775809", "123456789012345678901234567890", "-0.5", "1.5", "-1", "253402300800000",
            ].map { ($0, "invalid_input") }
            // Past Double's range: the JSON parser refuses the body.
            + [("1.8e308", "invalid_json"), ("1e400", "invalid_json"), ("-1e400", "invalid_json")]
        for (ts, code) in cases {
            let body = #"{"name":"x","data":{},"ts":\#(ts)}"#
            let response = try? await client.request(.POST, "/v1/events", body: Array(body.utf8))
            guard let response, coordinator.process.isRunning else {
                let running = coordinator.process.isRunning
                Issue.record("ts \(ts): no answer (coordinator running: \(running))\n\(coordinator.process.log)")
                break
            }
            #expect(response.status == 400, "ts \(ts)")
            #expect(response.json?["error"]?["code"]?.stringValue == code, "ts \(ts): \(response.text)")
        }
        #expect(coordinator.process.isRunning)
        #expect(try await client.request(.GET, "/healthz").status == 200)
        let valid = #"{"name":"x","data":{},"ts":1700000000123}"#
        let accepted = try await client.request(.POST, "/v1/events", body: Array(valid.utf8))
        #expect(accepted.status == 200, "\(accepted.text)")
        #expect(accepted.json?["events"]?[0]?["id"]?.stringValue?.isEmpty == false, "\(accepted.text)")
        await coordinator.process.stop()
    }

    @Test("a duplicate event id returns the original ids and starts nothing")
    func duplicateEventId() async throws {
        let coordinator = try await TestCoordinator()
        let ledger = StepLedger()
        let worker = TestWorker(
            functions: [orderFunction(worker: "w", ledger: ledger)],
            options: coordinator.workerOptions(instanceId: "w", capacity: 2))
        let client = try coordinator.client()
        _ = try await eventually { try await client.request(.GET, "/v1/functions").json?["functions"]?.arrayValue?.count == 1 }
        let first = try await client.send("order/created", data: ["orderId": "dup", "amount": 3], id: "order-dup-1")
        let second = try await client.send("order/created", data: ["orderId": "dup", "amount": 3], id: "order-dup-1")
        #expect(first.eventId == "order-dup-1")
        #expect(second.eventId == first.eventId)
        #expect(second.runIds == first.runIds)
        #expect(first.runIds.count == 1)
        _ = try await client.waitForRuns(first.runIds)
        #expect(ledger.totalExecutions == 3)
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("a worker's output that is not JSON fails the run with invalid_output; an empty steps_planned is a protocol_error")
    func uncheckedWorkerResults() async throws {
        let coordinator = try await TestCoordinator()
        let client = try coordinator.client()
        let raw = try await RawConnection.connect(
            port: coordinator.endpoints.workerPort, tlsCAFile: coordinator.credentials.tls.caCertificatePath)
        try await raw.sendHello(instanceId: "raw", key: coordinator.credentials.key) {
            $0.appName = "shop"
            $0.capacity = 1
            $0.functions = [.triggered(by: "raw/output", id: "raw-output")]
        }
        #expect(await raw.waitForFrame { $0.welcome.connectionID.count > 0 } != nil, "\(raw.frames)")
        func answer(_ request: Tether_V1_StepRequest, _ outcome: Tether_V1_StepResult.OneOf_Outcome) async throws {
            try await raw.write(
                .with {
                    $0.stepResult = .with {
                        $0.requestID = request.requestID
                        $0.runID = request.runID
                        $0.outcome = outcome
                    }
                })
        }

        // The function "returns" `{{{`: the run fails, it does not complete with the string "{{{".
        let runId = try #require(try await client.send("raw/output", data: ["n": 1]).runIds.first)
        let request = try #require(await raw.waitForFrame { $0.stepRequest.runID == runId }).stepRequest
        try await answer(request, .runCompleted(.with { $0.output = Data("{{{".utf8) }))
        let ack = try #require(await raw.waitForFrame { $0.stepResultAck.requestID == request.requestID })
        #expect(ack.stepResultAck.accepted)
        let run = try #require(try await client.waitForRuns([runId], timeout: .seconds(30))[runId])
        #expect(run["status"]?.stringValue == "failed", "\(run)")
        #expect(run["error"]?["code"]?.stringValue == "invalid_output", "\(run)")
        #expect(run["error"]?["message"]?.stringValue?.contains("not UTF-8 JSON") == true, "\(run)")
        #expect(run["output"]?.isNull == true, "\(run)")

        // A steps_planned that reports nothing: an error frame, no ack, and the connection closes.
        let secondRunId = try #require(try await client.send("raw/output", data: ["n": 2]).runIds.first)
        let next = try #require(await raw.waitForFrame { $0.stepRequest.runID == secondRunId }).stepRequest
        try await answer(next, .stepsPlanned(Tether_V1_StepsPlanned()))
        let error = try #require(await raw.waitForFrame { $0.error.code.count > 0 })
        #expect(error.error.code == "protocol_error")
        #expect(error.error.message.contains("steps_planned"), "\(error.error.message)")
        #expect(await raw.waitUntilClosed())
        #expect(!raw.frames.contains { $0.stepResultAck.requestID == next.requestID })
        #expect(try await client.request(.GET, "/healthz").status == 200)
        await coordinator.shutdown()
    }
}
