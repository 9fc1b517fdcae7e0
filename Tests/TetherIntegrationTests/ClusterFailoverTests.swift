import Foundation
import Synchronization
import Testing
import TetherClient
import TetherCoordinator
import TetherEngine
import TetherProcess
import TetherProtocol
import TetherStore
import TetherTestSupport

@testable import Tether

/// A `tether serve` cluster node in a child process, on fixed ports, sharing TLS files, keys and
/// a journal with its peers.
struct ChildClusterNode {
    let nodeId: String
    let configPath: String
    let httpPort: Int
    let workerPort: Int
    var process: ChildProcess

    static let apiKey = "test-api-key"

    /// Writes the node's configuration into `directory` and starts it.
    static func start(
        _ nodeId: String, journal: String, credentials: TestCredentials, directory: String, generation: Int = 0,
        ports: (http: Int, worker: Int)? = nil, settings: [String: JSONValue] = [:]
    ) async throws -> ChildClusterNode {
        let httpPort = if let ports { ports.http } else { try await freePort() }
        let workerPort = if let ports { ports.worker } else { try await freePort() }
        var configuration: JSONValue = [
            "host": "127.0.0.1", "httpPort": .int(Int64(httpPort)), "workerPort": .int(Int64(workerPort)),
            "data": .string(directory + "/\(nodeId)"),
            "tls": [
                "certificate": .string(credentials.tls.serverCertificatePath),
                "privateKey": .string(credentials.tls.serverKeyPath),
            ],
            "signingKeys": [.string(credentials.key.text)], "apiKeys": [.string(apiKey)], "metricsPublic": true,
            "journal": .string(journal), "nodeId": .string(nodeId),
        ]
        if case .object(var values) = configuration {
            values.merge(settings) { $1 }
            configuration = .object(values)
        }
        let configPath = directory + "/\(nodeId).json"
        try Data(configuration.serialized()).write(to: URL(fileURLWithPath: configPath))
        let node = ChildClusterNode(
            nodeId: nodeId, configPath: configPath, httpPort: httpPort, workerPort: workerPort,
            process: try Self.spawn(configPath: configPath, log: directory + "/\(nodeId)-\(generation).log"))
        return node
    }

    static func spawn(configPath: String, log: String) throws -> ChildProcess {
        try ChildProcess(
            "tether", arguments: ["serve", "--config", configPath],
            environment: ["TETHER_LOG_LEVEL": "info", "TETHER_CHECK_INVARIANTS": "1"], logPath: log)
    }

    /// Starts the node again (same ports, data and configuration) after it was killed.
    mutating func restart(log: String) throws {
        process = try Self.spawn(configPath: configPath, log: log)
    }

    var workerAddress: String { "127.0.0.1:\(workerPort)" }

    /// A worker's options for a cluster: every node's worker address, the test's key and CA.
    static func workerOptions(
        coordinators: [String], credentials: TestCredentials, instanceId: String, maxConcurrency: Int
    ) -> WorkerOptions {
        var options = WorkerOptions(environment: [:])
        options.coordinator = coordinators.joined(separator: ",")
        options.signingKey = credentials.key.text
        options.caFile = credentials.tls.caCertificatePath
        options.instanceId = instanceId
        options.maxConcurrency = maxConcurrency
        return options
    }

    func client() throws -> TetherClient {
        try TetherClient(url: "http://127.0.0.1:\(httpPort)", apiKey: Self.apiKey)
    }

    /// Its role now, or nil while it does not answer.
    func role() async -> String? {
        await cluster()?["role"]?.stringValue
    }

    /// The node id of the leader it knows of, or nil while it knows none or does not answer.
    func leader() async -> String? {
        await cluster()?["leader"]?["nodeId"]?.stringValue
    }

    /// `GET /v1/cluster`, or nil while it does not answer.
    func cluster() async -> JSONValue? {
        guard let answer = try? await HTTPExchange.send(port: httpPort, .GET, "/v1/cluster", apiKey: Self.apiKey),
            answer.status == 200
        else { return nil }
        return try? JSONValue(parsing: answer.body)
    }
}

@Suite("Cluster failover with real processes", .serialized)
struct ClusterFailoverTests {
    /// CI kills the leader 4 times over 30 runs; `TETHER_FAILOVER_KILLS` and `TETHER_FAILOVER_RUNS`
    /// make it the long version (10 kills, 200 runs).
    @Test("SIGKILL the leader again and again under a mixed workload: a standby takes over, workers follow, every run ends as without faults, no step body runs twice")
    func leaderKills() async throws {
        let environment = ProcessInfo.processInfo.environment
        let killCount = environment["TETHER_FAILOVER_KILLS"].flatMap(Int.init) ?? 4
        let count = environment["TETHER_FAILOVER_RUNS"].flatMap(Int.init) ?? 30
        var generator = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        let journal = try PostgresTestServer.freshDatabase("failover")
        let directory = try TemporaryDirectory("tether-failover")
        let credentials = try TestCredentials(in: directory.path)
        var nodes = [
            try await ChildClusterNode.start("node-a", journal: journal, credentials: credentials, directory: directory.path),
            try await ChildClusterNode.start("node-b", journal: journal, credentials: credentials, directory: directory.path),
        ]
        func leaderIndex() async -> Int? {
            for (index, node) in nodes.enumerated() where await node.role() == "leader" { return index }
            return nil
        }
        #expect(try await eventually(timeout: .seconds(60)) { await leaderIndex() != nil })

        let counter = ExecutionCounter()
        let capacities = ["f1": 4, "f2": 6]
        let workers = capacities.sorted { $0.key < $1.key }.map { name, capacity in
            let options = ChildClusterNode.workerOptions(
                coordinators: nodes.map(\.workerAddress), credentials: credentials, instanceId: name, maxConcurrency: capacity)
            return TestWorker(app: "mixapp", functions: mixedFunctions(counter: counter, worker: name), options: options)
        }
        // Clients may use any node: a standby redirects to the leader.
        let client = try nodes[0].client()
        #expect(try await eventually(timeout: .seconds(60)) {
            (try? await client.status().workers.count) == 2
        })

        var runIds: [String] = []
        let events: [JSONValue] = (0..<count).map { ["name": "mix/start", "data": ["i": .int(Int64($0))]] }
        let response = try await client.request(.POST, "/v1/events", body: JSONValue.array(events).serialized())
        runIds = (response.json?["events"]?.arrayValue ?? []).compactMap { $0["runs"]?[0]?.stringValue }
        #expect(runIds.count == count)

        let approver = Task { [runIds] in
            var sentAt: [Int: ContinuousClock.Instant] = [:]
            while !Task.isCancelled {
                for i in stride(from: 0, to: count, by: 3) {
                    guard let run = try? await client.runJSON(runIds[i]) else { continue }
                    let waiting = (run["steps"]?.arrayValue ?? []).contains {
                        $0["id"]?.stringValue == "approval" && $0["status"]?.stringValue == "waiting"
                    }
                    guard waiting, sentAt[i].map({ ContinuousClock.now - $0 > .seconds(3) }) ?? true else { continue }
                    let approval: JSONValue = ["name": "mix/approve", "data": ["i": .int(Int64(i))]]
                    if let sent = try? await client.request(.POST, "/v1/events", body: approval.serialized()), sent.status == 200 {
                        sentAt[i] = .now
                    }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }

        var takeovers: [Double] = []
        for round in 1...killCount {
            try await Task.sleep(for: .milliseconds(Int64(300 + generator.next() % 1_200)))
            guard let leader = await leaderIndex() else {
                Issue.record("no leader before kill \(round)")
                continue
            }
            let killedAt = ContinuousClock.now
            await nodes[leader].process.stop(signal: SIGKILL)
            #expect(!nodes[leader].process.log.contains("Fatal error"), "\(nodes[leader].nodeId) trapped")
            let other = 1 - leader
            let took = await eventually(timeout: .seconds(30)) { await nodes[other].role() == "leader" }
            #expect(took, "kill \(round): \(nodes[other].nodeId) did not take over")
            let seconds = Double((ContinuousClock.now - killedAt).components.attoseconds) / 1e18
                + Double((ContinuousClock.now - killedAt).components.seconds)
            takeovers.append(seconds)
            print("failover test: kill \(round) of \(nodes[leader].nodeId); \(nodes[other].nodeId) leads after \(String(format: "%.2f", seconds)) s")
            // The killed node comes back as a standby, ready to take over the next time.
            try nodes[leader].restart(log: directory.path + "/\(nodes[leader].nodeId)-\(round).log")
            _ = await eventually(timeout: .seconds(60)) { await nodes[leader].role() == "standby" }
        }

        // Through the leader: a standby just restarted answers 503 not_leader until it reads the lease.
        _ = await eventually(timeout: .seconds(30)) { await leaderIndex() != nil }
        let finished = try await nodes[await leaderIndex() ?? 0].client().waitForRuns(runIds, timeout: .seconds(600))
        approver.cancel()
        #expect(finished.count == count)
        for (i, runId) in runIds.enumerated() {
            let run = finished[runId]
            #expect(run?["status"]?.stringValue == "completed", "run \(i): \(run.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "")")
            #expect(run?["output"]?.stringValue == expectedMixOutput(i), "run \(i)")
        }
        // Healthy workers: no step body ran twice, whatever the coordinators went through.
        let repeated = Self.stepsRunTwice(counter.snapshot, runs: 0...(count - 1))
        #expect(repeated.isEmpty, "step bodies run twice: \(repeated.sorted())")
        if !repeated.isEmpty { Self.keepLogs(of: directory, runIds: runIds) }
        for (name, capacity) in capacities {
            #expect(counter.maxRunning[name, default: 0] <= capacity)
        }
        for node in nodes { #expect(!node.process.log.contains("Fatal error"), "\(node.nodeId) trapped") }
        print(
            "failover test: \(killCount) leader kills, \(count) runs completed; takeover seconds \(takeovers.map { String(format: "%.2f", $0) }); run twice: \(repeated.count)")
        for worker in workers { await worker.shutdown() }
        for node in nodes { await node.process.stop() }
    }

    /// Copies the nodes' logs out of the temporary directory (removed when the test ends), with
    /// the run ids by index, and prints where: what a failure needs to be understood.
    static func keepLogs(of directory: TemporaryDirectory, runIds: [String]) {
        let kept = FileManager.default.temporaryDirectory.appendingPathComponent("tether-failover-logs-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasSuffix(".log") {
            try? FileManager.default.copyItem(atPath: directory.path + "/" + name, toPath: kept + "/" + name)
        }
        let index = runIds.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: "\n")
        try? Data(index.utf8).write(to: URL(fileURLWithPath: kept + "/runs.txt"))
        print("failover test: logs kept in \(kept)")
    }

    /// The mixed workload's step bodies that ran more than once, among runs `runs`.
    static func stepsRunTwice(_ executions: [String: Int], runs: ClosedRange<Int>) -> [String] {
        var repeated: [String] = []
        for i in runs {
            var steps = ["a", "b", "c", "double"]
            if i % 4 == 0 { steps.append("flaky") }
            for step in steps where (executions["\(i)/\(step)"] ?? 0) > 1 { repeated.append("\(i)/\(step)") }
        }
        return repeated
    }

    /// Prints the runs of `runIds` that did not end, as `node` shows them, and keeps the logs.
    static func reportUnfinished(
        _ runIds: [String], _ finished: [String: JSONValue], via node: ChildClusterNode, directory: TemporaryDirectory
    ) async {
        for id in runIds where finished[id] == nil {
            let run = try? await node.client().runJSON(id)
            print("unfinished run \(id): \(run.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "unreadable")")
        }
        if let status = try? await node.client().request(.GET, "/v1/status") {
            print("status of \(node.nodeId): \(status.text)")
        }
        keepLogs(of: directory, runIds: runIds)
    }

    @Test(
        "a paused leader (SIGSTOP past its lease) is replaced, commits nothing once resumed, steps down and catches up: both stores hold the same state")
    func zombieLeader() async throws {
        let journal = try PostgresTestServer.freshDatabase("zombie")
        let directory = try TemporaryDirectory("tether-zombie")
        let credentials = try TestCredentials(in: directory.path)
        var nodes = [
            try await ChildClusterNode.start("node-a", journal: journal, credentials: credentials, directory: directory.path)
        ]
        #expect(try await eventually(timeout: .seconds(60)) { await nodes[0].role() == "leader" })
        nodes.append(try await ChildClusterNode.start("node-b", journal: journal, credentials: credentials, directory: directory.path))
        // A standby knows the leader only once it read the lease (before that it answers 503).
        #expect(try await eventually(timeout: .seconds(60)) { await nodes[1].leader() == "node-a" })

        let ledger = StepLedger()
        let options = ChildClusterNode.workerOptions(
            coordinators: nodes.map(\.workerAddress), credentials: credentials, instanceId: "z1", maxConcurrency: 8)
        let worker = TestWorker(functions: [orderFunction(worker: "z1", ledger: ledger)], options: options)
        let client = try nodes[1].client()
        func send(_ range: Range<Int>) async throws -> [String] {
            var ids: [String] = []
            for index in range {
                let (_, runs) = try await client.send("order/created", data: ["orderId": .string("z-\(index)"), "amount": .int(Int64(index + 1))])
                ids += runs
            }
            return ids
        }
        // A standby sends API requests to the leader; the client follows with its key and body.
        let redirect = try await HTTPExchange.send(
            port: nodes[1].httpPort, .POST, "/v1/events", body: Array(#"{"name":"x"}"#.utf8), apiKey: ChildClusterNode.apiKey)
        #expect(redirect.status == 307 && redirect.headers.first(name: "location") == "http://127.0.0.1:\(nodes[0].httpPort)/v1/events")
        #expect(try await client.request(.GET, "/v1/runs?limit=1").status == 200)
        // The worker registered first: an event of an unknown function starts no run.
        #expect(try await eventually(timeout: .seconds(60)) { (try? await client.status().workers.count) == 1 })
        var runIds = try await send(0..<20)
        _ = try await client.waitForRuns(runIds)

        // Pause the leader past its lease: node-b takes over and completes new work.
        kill(nodes[0].process.process.processIdentifier, SIGSTOP)
        #expect(try await eventually(timeout: .seconds(30)) { await nodes[1].role() == "leader" })
        runIds += try await send(20..<40)
        let finished = try await nodes[1].client().waitForRuns(runIds)
        #expect(finished.count == runIds.count, "runs ended after the takeover: \(finished.count) of \(runIds.count)")
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        if finished.count < runIds.count { await Self.reportUnfinished(runIds, finished, via: nodes[1], directory: directory) }

        // Resumed, the old leader finds its lease gone: it commits nothing more and stands by.
        kill(nodes[0].process.process.processIdentifier, SIGCONT)
        #expect(try await eventually(timeout: .seconds(30)) { await nodes[0].role() == "standby" })
        runIds += try await send(40..<50)
        let all = try await nodes[1].client().waitForRuns(runIds)
        #expect(runIds.count == 50 && Set(runIds).count == 50, "runs started: \(runIds.count), distinct \(Set(runIds).count)")
        #expect(all.count == Set(runIds).count, "runs ended: \(all.count) of \(Set(runIds).count)")
        if all.count < runIds.count { await Self.reportUnfinished(runIds, all, via: nodes[1], directory: directory) }
        #expect(all.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        #expect(ledger.executions.values.allSatisfy { $0 == 1 }, "no step body ran twice")
        let bothCaughtUp = try await eventually(timeout: .seconds(30)) {
            guard let a = try? await HTTPExchange.send(port: nodes[0].httpPort, .GET, "/v1/cluster", apiKey: ChildClusterNode.apiKey),
                let b = try? await HTTPExchange.send(port: nodes[1].httpPort, .GET, "/v1/cluster", apiKey: ChildClusterNode.apiKey)
            else { return false }
            let standby = try JSONValue(parsing: a.body)["journal"]
            let leader = try JSONValue(parsing: b.body)["journal"]
            return standby?["appliedSeq"] == leader?["lastSeq"]
        }
        #expect(bothCaughtUp)
        let metrics = try await HTTPExchange.send(port: nodes[0].httpPort, .GET, "/metrics").text
        #expect(metrics.contains("tether_cluster_role{role=\"standby\"} 1"))

        await worker.shutdown()
        for node in nodes { await node.process.stop() }
        for node in nodes { #expect(!node.process.log.contains("Fatal error"), "\(node.nodeId) trapped") }
        // The two stores hold the same runs, steps, leases, timers and waits: every key but the
        // node-local metadata (schema version, applied journal sequence).
        let a = try RocksDB(path: directory.path + "/node-a")
        let b = try RocksDB(path: directory.path + "/node-b")
        let contentsA = try a.scan(prefix: []).filter { $0.key.first != KeyKind.meta.rawValue }
        let contentsB = try b.scan(prefix: []).filter { $0.key.first != KeyKind.meta.rawValue }
        #expect(contentsA.count == contentsB.count && contentsA.count > 100)
        #expect(zip(contentsA, contentsB).allSatisfy { $0.key == $1.key && $0.value == $1.value }, "the stores differ")
        #expect(try a.journalSequence() == b.journalSequence())
        a.close()
        b.close()
    }
}
