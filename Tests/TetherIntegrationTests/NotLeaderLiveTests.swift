import Foundation
import Logging
import NIOCore
import Synchronization
import TetherClient
import TetherCoordinator
import TetherEngine
import TetherProcess
import TetherProtocol
import Testing

@testable import Tether

/// A standby's worker port (``NotLeaderListener``) with real SDK workers and raw clients: a
/// worker given the cluster's addresses reaches the leader through a standby; hostile clients
/// are closed and the standby keeps answering; standbys naming each other do not make a hot loop.
@Suite("Not-leader redirects, live", .serialized)
struct NotLeaderLiveTests {
    /// A standby listener on a free port with `credentials`' TLS files, naming `leader()`.
    static func standby(
        credentials: TestCredentials, configure: (inout CoordinatorConfiguration) -> Void = { _ in },
        leader: @escaping @Sendable () -> String?
    ) async throws -> (listener: NotLeaderListener, address: String) {
        var configuration = CoordinatorConfiguration(
            dataDirectory: "/nonexistent", signingKeys: [credentials.key],
            tlsCertificatePath: credentials.tls.serverCertificatePath, tlsPrivateKeyPath: credentials.tls.serverKeyPath)
        configuration.workerPort = 0
        configure(&configuration)
        let listener = NotLeaderListener(configuration: configuration, leaderWorkerAddress: leader, logger: testLogger("test.standby"))
        let port = try await listener.bind()
        return (listener, "127.0.0.1:\(port)")
    }

    /// A step that holds until released, counting how often its body started.
    final class Hold: Sendable {
        private let state = Mutex((started: 0, released: false))

        var started: Int { state.withLock { $0.started } }
        func release() { state.withLock { $0.released = true } }

        func run() async throws -> String {
            state.withLock { $0.started += 1 }
            while !state.withLock({ $0.released }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            return "held"
        }
    }

    static func held(_ hold: Hold) -> TetherFunction {
        TetherFunction("held", trigger: .event("test/held")) { (ctx: Context<JSONValue>) -> String in
            let first: String = try await ctx.step.run("hold") { try await hold.run() }
            let second: String = try await ctx.step.run("after") { "after-\(first)" }
            return second
        }
    }

    static func workers(_ client: TetherClient) async throws -> [JSONValue] {
        try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue ?? []
    }

    @Test("a worker given [a dead address, a standby] reaches the leader through the standby, completes a run, and resumes its step there after a drop")
    func followsTheStandby() async throws {
        let coordinator = try await TestCoordinator()
        let leaderAddress = coordinator.workerAddress
        let (standby, standbyAddress) = try await Self.standby(credentials: coordinator.credentials) { leaderAddress }
        let dead = "127.0.0.1:\(try await freePort())"
        var options = coordinator.workerOptions(instanceId: "follower", capacity: 2)
        options.coordinator = "\(dead),\(standbyAddress)"
        let hold = Hold()
        let worker = TestWorker(functions: [Self.held(hold)], options: options)
        let client = try coordinator.client()

        #expect(try await eventually(timeout: .seconds(30)) { try await Self.workers(client).count == 1 })
        #expect(standby.statistics.redirected >= 1, "the only way in is the standby's redirect")
        #expect(standby.statistics.answered == standby.statistics.redirected)

        // A step in flight when the connection drops: the worker comes back to the leader's
        // address and lists it in its Hello; the step's body does not run again.
        let runId = try #require(try await client.send("test/held", data: [:]).runIds.first)
        #expect(await eventually(timeout: .seconds(30)) { hold.started == 1 })
        let firstConnection = worker.worker.connectionId
        let channel = worker.worker.state.withLock { $0.channel }
        try await channel?.close()
        #expect(await eventually(timeout: .seconds(30)) { worker.worker.connectionId.map { $0 != firstConnection } ?? false })
        hold.release()
        let finished = try await client.waitForRuns([runId], timeout: .seconds(60))
        #expect(finished[runId]?["status"]?.stringValue == "completed")
        #expect(finished[runId]?["output"]?.stringValue == "after-held")
        #expect(hold.started == 1, "resumed on the new connection, not run again")
        #expect(try await Self.workers(client).count == 1)

        await worker.shutdown()
        await standby.close()
        await coordinator.shutdown()
    }

    @Test("hostile clients are closed, quickly and without an answer unless they speak TLS; the standby keeps answering")
    func hostileClients() async throws {
        let directory = try TemporaryDirectory("tether-standby")
        let credentials = try TestCredentials(in: directory.path)
        let ca = credentials.tls.caCertificatePath
        let leader = Mutex<String?>(nil)
        let (standby, address) = try await Self.standby(
            credentials: credentials, configure: { $0.preHandshakeTimeoutMilliseconds = 1_000 },
            leader: { leader.withLock { $0 } })
        #expect(standby.connectionTimeoutMilliseconds == 1_000)
        let port = Int(address.split(separator: ":").last!)!

        // No leader known: an empty address and a retry-after of 200-1000 ms, then the close.
        let early = try await RawConnection.connect(port: port, tlsCAFile: ca)
        let electing = try #require(await early.waitForFrame { $0.reject.code.isEmpty == false })
        #expect(electing.reject.code == ErrorCode.notLeader.rawValue)
        #expect(electing.reject.leaderWorkerAddress.isEmpty)
        #expect((200...1_000).contains(electing.reject.retryAfterMs))
        #expect(await early.waitUntilClosed(timeout: .seconds(5)))

        leader.withLock { $0 = "10.0.0.7:7421" }
        // Plain HTTP: closed at its first byte, before TLS.
        let http = try await RawConnection.connect(port: port, tlsCAFile: nil)
        try await http.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(await http.waitUntilClosed(timeout: .seconds(3)))
        // Bytes that look like a TLS record but are not a ClientHello.
        let fake = try await RawConnection.connect(port: port, tlsCAFile: nil)
        try await fake.write([0x16, 0x03, 0x01, 0x00, 0x10] + Array(repeating: 0xAB, count: 16))
        #expect(await fake.waitUntilClosed(timeout: .seconds(3)))
        // A socket that sends nothing, one that stalls after its ClientHello, one that drips.
        let silent = try await RawConnection.connect(port: port, tlsCAFile: nil)
        let stalled = try await RawConnection.connectStallingTLS(port: port)
        let drip = try await RawConnection.connect(port: port, tlsCAFile: nil)
        try await drip.write([0x16, 0x03])
        for connection in [silent, stalled, drip] {
            #expect(await connection.waitUntilClosed(timeout: .seconds(10)), "closed by the deadline (1 s, plus at most 1 s for TLS)")
        }
        // A TLS client that answers the Reject with garbage, and one that sends a huge frame
        // header: each gets its Reject and is closed.
        for bytes in [Array(repeating: UInt8(0xFF), count: 4096), [0x7F, 0xFF, 0xFF, 0xFF]] {
            let rude = try await RawConnection.connect(port: port, tlsCAFile: ca)
            try? await rude.write(bytes)
            let reject = await rude.waitForFrame { $0.reject.code.isEmpty == false }
            #expect(reject?.reject.leaderWorkerAddress == "10.0.0.7:7421")
            #expect(await rude.waitUntilClosed(timeout: .seconds(5)))
        }

        // Still answering, as the first time.
        let polite = try await RawConnection.connect(port: port, tlsCAFile: ca)
        let reject = try #require(await polite.waitForFrame { $0.reject.code.isEmpty == false })
        #expect(reject.reject.code == ErrorCode.notLeader.rawValue)
        #expect(reject.reject.leaderWorkerAddress == "10.0.0.7:7421")
        #expect(reject.reject.retryAfterMs == 0)
        #expect(await polite.waitUntilClosed(timeout: .seconds(5)))
        let statistics = standby.statistics
        #expect(statistics.accepted == 9)
        #expect(statistics.answered == 4)
        #expect(statistics.redirected == 3)

        // close() stops accepting and closes connections still open.
        let lingering = try await RawConnection.connect(port: port, tlsCAFile: nil)
        await standby.close()
        #expect(await lingering.waitUntilClosed(timeout: .seconds(5)))
        await #expect(throws: (any Error).self) { _ = try await RawConnection.connect(port: port, tlsCAFile: nil) }
        await standby.close()
    }

    @Test("two standbys naming each other: the worker backs off, tens of attempts at most, never a hot loop")
    func standbysNamingEachOther() async throws {
        let directory = try TemporaryDirectory("tether-standbys")
        let credentials = try TestCredentials(in: directory.path)
        let addresses = Mutex<[String]>([])
        let (first, firstAddress) = try await Self.standby(credentials: credentials) { addresses.withLock { $0.last } }
        let (second, secondAddress) = try await Self.standby(credentials: credentials) { addresses.withLock { $0.first } }
        addresses.withLock { $0 = [firstAddress, secondAddress] }

        var options = WorkerOptions(environment: [:])
        options.coordinator = "\(firstAddress),\(secondAddress)"
        options.signingKey = credentials.key.text
        options.caFile = credentials.tls.caCertificatePath
        options.instanceId = "ping-pong"
        options.shutdownGracePeriod = .seconds(1)
        let worker = TestWorker(
            functions: [TetherFunction("noop", trigger: .event("test/noop")) { (_: Context<JSONValue>) -> Int in 1 }],
            options: options)
        let window = Duration.seconds(6)
        try await Task.sleep(for: window)
        let attempts = first.statistics.answered + second.statistics.answered
        print("standbys naming each other: \(attempts) attempts in \(window)")
        // With the delays of CoordinatorDialPlan (25 ms doubling per redirect, 100 ms doubling
        // per refusal, both full jitter), 6 s hold about a dozen; a hot loop would be thousands.
        #expect(attempts >= 2, "the worker tried both")
        #expect(attempts <= 60, "bounded by the backoff")
        #expect(worker.worker.connectionId == nil)
        let stopping = ContinuousClock.now
        await worker.shutdown()
        #expect(ContinuousClock.now - stopping < .seconds(10), "a worker waiting between attempts shuts down promptly")
        await first.close()
        await second.close()
    }
}
