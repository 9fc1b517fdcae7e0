import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TetherEngine

@testable import Tether

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Idle TCP connections on the worker port (an outside tester's attack): they send nothing, so
/// they must not hold handshake slots and keep real workers out.
@Suite("Idle sockets, live", .serialized)
struct IdleSocketsLiveTests {
    @Test("1,000 idle sockets, held open and renewed, do not keep a new worker out: welcomed within 1 s")
    func newWorkerGetsInPastIdleSockets() async throws {
        raiseOpenFileLimit(atLeast: 8_192)
        let coordinator = try await TestCoordinator()  // default limits: 256 slots, 8,192 queued
        let client = try coordinator.client()
        let sockets = IdleSockets(port: coordinator.endpoints.workerPort)
        try await sockets.open(1_000)
        // Let the coordinator accept them all (the kernel completes a connect before NIO accepts it).
        try await Task.sleep(for: .milliseconds(500))
        let before = try await client.request(.GET, "/v1/status").json?["handshakes"]
        print("idle sockets: \(sockets.openCount) open; handshakes \(before.map(Self.text) ?? "?")")
        #expect(before?["inProgress"]?.int64Value == 0, "idle sockets hold no handshake slot")
        #expect(before?["queued"]?.int64Value == 0)
        // They are counted where they are: accepted, without a ClientHello.
        let counted = try await eventually(timeout: .seconds(5)) {
            try await client.request(.GET, "/v1/status").json?["handshakes"]?["awaitingClientHello"]?.int64Value == 1_000
        }
        #expect(counted, "awaitingClientHello: \(before?["awaitingClientHello"].map(Self.text) ?? "?")")
        #expect(before?["awaitingClientHelloLimit"]?.int64Value == 8_192)
        let metrics = try await client.request(.GET, "/metrics").text
        #expect(metrics.contains("tether_worker_connections_awaiting_client_hello "), "the gauge is exported")
        // The coordinator closes them at the pre-handshake timeout (10 s) and they are opened
        // again at once: the worker starts while they churn.
        let renewed = await eventually(timeout: .seconds(20)) { sockets.renewals >= 1_000 }
        #expect(renewed, "renewed \(sockets.renewals)")

        let start = ContinuousClock.now
        let worker = TestWorker(
            functions: [TetherFunction("noop", trigger: .event("test/noop")) { (_: Context<JSONValue>) -> Int in 1 }],
            options: coordinator.workerOptions(instanceId: "newcomer", capacity: 1))
        let welcomed = try await eventually(timeout: .seconds(30)) {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1
        }
        let elapsed = ContinuousClock.now - start
        print("a new worker past 1,000 idle sockets: welcomed=\(welcomed) after \(elapsed)")
        #expect(welcomed)
        #expect(elapsed < .seconds(1), "welcomed after \(elapsed)")

        // It works, and the idle sockets are still there.
        let (_, runIds) = try await client.send("test/noop")
        let runs = try await client.waitForRuns(runIds, timeout: .seconds(30))
        #expect(runs.values.first?["status"]?.stringValue == "completed")
        let held = await eventually(timeout: .seconds(5)) { sockets.openCount == 1_000 }
        #expect(held, "still held: \(sockets.openCount)")
        print("idle sockets renewed: \(sockets.renewals)")
        await sockets.close()
        await worker.shutdown()
        await coordinator.shutdown()
    }

    @Test("plaintext is closed at once (not_tls); silence at the pre-handshake timeout; past the bound at once")
    func closedBeforeAnySlot() async throws {
        let coordinator = try await TestCoordinator {
            $0.preHandshakeTimeoutMilliseconds = 1_000
            $0.timing.maxPreHandshakeConnections = 2
        }
        let client = try coordinator.client()
        let port = coordinator.endpoints.workerPort

        let plaintext = try await RawConnection.connect(port: port, tlsCAFile: nil)
        try await plaintext.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(await plaintext.waitUntilClosed(timeout: .seconds(2)))
        #expect(plaintext.frames.isEmpty)

        // Two silent sockets fill the pre-handshake bound: a third is closed at once.
        let start = ContinuousClock.now
        let silent = [
            try await RawConnection.connect(port: port, tlsCAFile: nil),
            try await RawConnection.connect(port: port, tlsCAFile: nil),
        ]
        try await Task.sleep(for: .milliseconds(200))
        let third = try await RawConnection.connect(port: port, tlsCAFile: nil)
        #expect(await third.waitUntilClosed(timeout: .milliseconds(500)), "closed at once, past the bound")
        let handshakes = try await client.request(.GET, "/v1/status").json?["handshakes"]
        #expect(handshakes?["inProgress"]?.int64Value == 0)
        #expect(handshakes?["queued"]?.int64Value == 0)

        // The silent ones are closed at the pre-handshake timeout (1 s), not before.
        #expect(silent.allSatisfy { $0.channel.isActive })
        for connection in silent { #expect(await connection.waitUntilClosed(timeout: .seconds(5))) }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(900), "closed after \(elapsed)")

        let text = String(decoding: try await client.request(.GET, "/metrics").body, as: UTF8.self)
        #expect(text.contains(#"tether_worker_handshakes_rejected_total{code="not_tls"} 1"#))
        #expect(text.contains(#"tether_worker_handshakes_rejected_total{code="pre_handshake_full"} 1"#))
        #expect(text.contains(#"tether_worker_handshakes_rejected_total{code="pre_handshake_timeout"} 2"#))
        #expect(!text.contains(#"code="tls""#), "plaintext no longer reaches TLS")
        await coordinator.shutdown()
    }

    private static func text(_ value: JSONValue) -> String {
        String(decoding: value.serialized(), as: UTF8.self)
    }
}

/// Raises the soft limit on open files to `needed` (at most the hard limit): the test holds both
/// ends of every idle socket.
func raiseOpenFileLimit(atLeast needed: Int) {
    #if canImport(Glibc)
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    let resource = RLIMIT_NOFILE
    #endif
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < rlim_t(needed) else { return }
    limit.rlim_cur = min(rlim_t(needed), limit.rlim_max)
    _ = setrlimit(resource, &limit)
}

/// TCP connections that send nothing. One the peer closes is opened again at once, so the
/// number held stays the same (the tester renewed theirs every 10 s; this renews eagerly).
final class IdleSockets: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closing = false
        var renewals = 0
    }

    private let port: Int
    private let state = Mutex(State())

    init(port: Int) {
        self.port = port
    }

    var openCount: Int { state.withLock { $0.channels.count } }
    var renewals: Int { state.withLock { $0.renewals } }

    /// Opens `count` connections, 100 at a time.
    func open(_ count: Int) async throws {
        var remaining = count
        while remaining > 0 {
            let batch = min(100, remaining)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<batch { group.addTask { try await self.openOne() } }
                try await group.waitForAll()
            }
            remaining -= batch
        }
    }

    private func openOne() async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        let id = ObjectIdentifier(channel)
        let added = state.withLock { state -> Bool in
            guard !state.closing else { return false }
            state.channels[id] = channel
            return true
        }
        guard added else {
            try? await channel.close()
            return
        }
        channel.closeFuture.whenComplete { _ in
            let renew = self.state.withLock { state -> Bool in
                state.channels[id] = nil
                guard !state.closing else { return false }
                state.renewals += 1
                return true
            }
            if renew { Task { try? await self.openOne() } }
        }
    }

    func close() async {
        let channels = state.withLock { state in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels { try? await channel.close() }
    }
}
