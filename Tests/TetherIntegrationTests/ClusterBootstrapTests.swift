import Foundation
import Logging
import Testing
import TetherClient
import TetherCluster
import TetherEngine
import TetherProcess
import TetherTestSupport

@testable import Tether

/// A third node joins a cluster whose journal was trimmed below the leader's checkpoints.
@Suite("Cluster bootstrap from a checkpoint", .serialized)
struct ClusterBootstrapTests {
    /// The journal's first sequence, read from PostgreSQL.
    func journalFirstSequence(_ url: String) async throws -> UInt64 {
        let journal = PostgresJournal(url: try JournalURL(url), logger: Logger(label: "test"))
        defer { Task { await journal.close() } }
        return try await journal.bounds().first
    }

    @Test("a new node with an empty data directory starts from the latest checkpoint and the journal after it, catches up, and takes over when both other nodes die; every run ends as without faults")
    func thirdNodeJoinsFromACheckpointAndLeads() async throws {
        let count = 36
        let journal = try PostgresTestServer.freshDatabase("bootstrap")
        let directory = try TemporaryDirectory("tether-bootstrap")
        let credentials = try TestCredentials(in: directory.path)
        // Checkpoints every second into one directory all three nodes read, two kept.
        let settings: [String: JSONValue] = [
            "checkpoints": ["directory": .string(directory.path + "/checkpoints"), "intervalSeconds": 1, "keep": 2]
        ]
        func start(_ nodeId: String, ports: (http: Int, worker: Int)? = nil, generation: Int = 0) async throws -> ChildClusterNode {
            try await ChildClusterNode.start(
                nodeId, journal: journal, credentials: credentials, directory: directory.path, generation: generation, ports: ports,
                settings: settings)
        }
        var nodes = [try await start("node-a"), try await start("node-b")]
        let portsC = (http: try await freePort(), worker: try await freePort())
        func leaderIndex() async -> Int? {
            for (index, node) in nodes.enumerated() where await node.role() == "leader" { return index }
            return nil
        }
        #expect(try await eventually(timeout: .seconds(60)) { await leaderIndex() != nil })

        let counter = ExecutionCounter()
        let workers = ["f1", "f2"].map { name in
            let options = ChildClusterNode.workerOptions(
                coordinators: nodes.map(\.workerAddress) + ["127.0.0.1:\(portsC.worker)"], credentials: credentials, instanceId: name, maxConcurrency: 5)
            return TestWorker(
                app: "mixapp", functions: mixedFunctions(counter: counter, worker: name, stepMilliseconds: 100), options: options)
        }
        let client = try nodes[0].client()
        #expect(try await eventually(timeout: .seconds(60)) { (try? await client.status().workers.count) == 2 })
        // Through the leader, again until it is accepted (with ids, so a resend starts nothing twice):
        // just after a failover a standby may not know the new leader yet (503 not_leader).
        func send(_ range: Range<Int>) async throws -> [String] {
            let events: [JSONValue] = range.map {
                ["name": "mix/start", "id": .string("bootstrap-\($0)"), "data": ["i": .int(Int64($0))]]
            }
            var ids: [String] = []
            _ = try await eventually(timeout: .seconds(30)) {
                guard let leader = await leaderIndex(),
                    let response = try? await nodes[leader].client().request(
                        .POST, "/v1/events", body: JSONValue.array(events).serialized()),
                    response.status == 200
                else { return false }
                ids = (response.json?["events"]?.arrayValue ?? []).compactMap { $0["runs"]?[0]?.stringValue }
                return true
            }
            return ids
        }
        var runIds = try await send(0..<15)
        // Approves every third run, again every 3 s: an approval sent before its run waits, or
        // lost with a node, is sent again (one that comes after the run ended resumes nothing).
        let approver = Task { [client] in
            var sentAt: [String: ContinuousClock.Instant] = [:]
            while !Task.isCancelled {
                for i in stride(from: 0, to: count, by: 3) {
                    let key = "\(i)"
                    guard sentAt[key].map({ ContinuousClock.now - $0 > .seconds(3) }) ?? true else { continue }
                    let approval: JSONValue = ["name": "mix/approve", "data": ["i": .int(Int64(i))]]
                    if let sent = try? await client.request(.POST, "/v1/events", body: approval.serialized()), sent.status == 200 {
                        sentAt[key] = .now
                    }
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }

        // The leader checkpoints and trims: the journal no longer starts at its first entry.
        func metric(_ name: String, of node: ChildClusterNode) async -> Double? {
            guard let answer = try? await HTTPExchange.send(port: node.httpPort, .GET, "/metrics") else { return nil }
            return answer.text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let trimmed = try await eventually(timeout: .seconds(90)) {
            guard let leader = await leaderIndex() else { return false }
            return (await metric("tether_journal_trimmed_entries_total", of: nodes[leader]) ?? 0) > 0
        }
        #expect(trimmed, "the leader trimmed no journal entry")
        runIds += try await send(15..<30)

        // node-c, with an empty data directory, starts from a checkpoint and catches up.
        nodes.append(try await start("node-c", ports: portsC))
        #expect(try await eventually(timeout: .seconds(60)) { await nodes[2].role() == "standby" })
        // A new node starts from the checkpoint before it serves.
        #expect(await metric("tether_cluster_bootstraps_total", of: nodes[2]) == 1)
        let caughtUp = try await eventually(timeout: .seconds(60)) {
            guard let leader = await leaderIndex(),
                let last = await metric("tether_journal_last_sequence", of: nodes[leader]),
                let applied = await metric("tether_journal_applied_sequence", of: nodes[2])
            else { return false }
            return applied >= last
        }
        #expect(caughtUp, "node-c did not catch up with the journal")
        let journalFirst = try await journalFirstSequence(journal)
        print("bootstrap test: journal starts at \(journalFirst); node-c applied \(await metric("tether_journal_applied_sequence", of: nodes[2]) ?? -1)")
        #expect(journalFirst > 1)
        let replaced = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".replaced-") }
        #expect(replaced.isEmpty, "a new node replaced no store: \(replaced)")

        // Both other nodes die: node-c takes over, and the workers follow it.
        let leader = try #require(await leaderIndex())
        await nodes[1 - leader].process.stop(signal: SIGKILL)
        await nodes[leader].process.stop(signal: SIGKILL)
        #expect(try await eventually(timeout: .seconds(30)) { await nodes[2].role() == "leader" }, "node-c did not take over")
        #expect(try await eventually(timeout: .seconds(30)) { (try? await nodes[2].client().status().workers.count) == 2 })
        for index in 0..<2 {
            try nodes[index].restart(log: directory.path + "/\(nodes[index].nodeId)-1.log")
        }
        #expect(try await eventually(timeout: .seconds(60)) {
            let first = await nodes[0].role()
            let second = await nodes[1].role()
            return first == "standby" && second == "standby"
        })
        // And node-c dies in turn: one of the restarted nodes leads.
        try await Task.sleep(for: .seconds(2))
        let appliedByC = await metric("tether_journal_applied_sequence", of: nodes[2]) ?? 0
        await nodes[2].process.stop(signal: SIGKILL)
        #expect(try await eventually(timeout: .seconds(30)) { await leaderIndex() != nil })

        // While node-c is down, more work and checkpoints trim the journal past its store: back,
        // it moves that store aside and starts from a checkpoint again.
        runIds += try await send(30..<count)
        let trimmedPastC = try await eventually(timeout: .seconds(90)) {
            (try? await journalFirstSequence(journal)).map { Double($0) > appliedByC + 1 } ?? false
        }
        #expect(trimmedPastC, "the journal was not trimmed past node-c's store (\(appliedByC))")
        try nodes[2].restart(log: directory.path + "/node-c-1.log")
        #expect(try await eventually(timeout: .seconds(60)) {
            await metric("tether_cluster_bootstraps_total", of: nodes[2]) == 1
        })
        #expect(await nodes[2].role() == "standby")
        let movedAside = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("node-c.replaced-") }
        #expect(movedAside.count == 1, "node-c's old store was not moved aside: \(movedAside)")

        let finished = try await nodes[await leaderIndex() ?? 0].client().waitForRuns(runIds, timeout: .seconds(300))
        approver.cancel()
        #expect(runIds.count == count)
        #expect(finished.count == count)
        for (i, runId) in runIds.enumerated() {
            let run = finished[runId]
            #expect(run?["status"]?.stringValue == "completed", "run \(i)")
            #expect(run?["output"]?.stringValue == expectedMixOutput(i), "run \(i)")
        }
        let repeated = ClusterFailoverTests.stepsRunTwice(counter.snapshot, runs: 0...count - 1)
        #expect(repeated.isEmpty, "step bodies run twice: \(repeated.sorted())")
        if !repeated.isEmpty || finished.count != count { ClusterFailoverTests.keepLogs(of: directory, runIds: runIds) }
        for worker in workers { await worker.shutdown() }
        for node in nodes { await node.process.stop() }
        for node in nodes { #expect(!node.process.log.contains("Fatal error"), "\(node.nodeId) trapped") }
    }
}
