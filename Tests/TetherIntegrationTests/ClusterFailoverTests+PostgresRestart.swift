import Foundation
import Testing
import TetherClient
import TetherEngine
import TetherProcess
import TetherTestSupport

@testable import Tether

extension ClusterFailoverTests {
    /// What one outage of PostgreSQL looked like: its mode, and when it was down for sure (from
    /// the moment the stop returned to the moment the start began).
    struct Outage: Sendable {
        var mode: PrivatePostgresServer.StopMode
        var downFor: Duration
        var from: ContinuousClock.Instant
        var until: ContinuousClock.Instant
    }

    @Test(
        "PostgreSQL restarted under load, a fast stop then an immediate one: while it is down no node is ready and no event is accepted, workers keep the results they cannot deliver and resend them, a leader comes back, nothing acknowledged is lost and no step body runs twice"
    )
    func postgresRestart() async throws {
        // A server of this test's own: the shared one must stay up for the other tests.
        let postgres = try PrivatePostgresServer(port: try await freePort())
        defer { postgres.remove() }
        let journal = try postgres.freshDatabase("restart")
        let directory = try TemporaryDirectory("tether-restart-nodes")
        let credentials = try TestCredentials(in: directory.path)
        let nodes = [
            try await ChildClusterNode.start(
                "node-a", journal: journal, credentials: credentials, directory: directory.path),
            try await ChildClusterNode.start(
                "node-b", journal: journal, credentials: credentials, directory: directory.path),
        ]
        #expect(try await eventually(timeout: .seconds(60)) { await Self.readyNodes(nodes).count == 1 })

        let counter = ExecutionCounter()
        let gate = StepGate()
        let capacities = ["f1": 4, "f2": 6]
        let workers = capacities.sorted { $0.key < $1.key }.map { name, capacity in
            let options = ChildClusterNode.workerOptions(
                coordinators: nodes.map(\.workerAddress), credentials: credentials, instanceId: name, maxConcurrency: capacity)
            // Only f1 runs the gated step, so the test knows which worker holds its result.
            let gated = name == "f1" ? [gate.function(counter: counter)] : []
            return TestWorker(
                app: "mixapp", functions: mixedFunctions(counter: counter, worker: name) + gated, options: options)
        }
        let clients = try nodes.map { try $0.client() }
        #expect(try await eventually(timeout: .seconds(60)) { (try? await clients[0].status().workers.count) == 2 })

        // Load all along: one new run every 150 ms, through either node (a standby redirects).
        let posts = PostLedger()
        let poster = Task {
            var i = 0
            while !Task.isCancelled {
                await posts.post(i, through: clients[i % 2])
                i += 1
                try? await Task.sleep(for: .milliseconds(150))
            }
        }
        let approver = Task { await Self.approve(posts, clients: clients) }
        let readiness = ReadinessLog()
        let prober = Task { await readiness.probe(nodes) }
        try await Task.sleep(for: .seconds(2))

        // A fast stop past the lease (another node may take it), then an immediate one shorter
        // than it (the same node takes it again with a new epoch, unless it ran out meanwhile).
        var outages: [Outage] = []
        var gatedRuns: [String] = []
        let plan: [(PrivatePostgresServer.StopMode, Duration)] = [
            (.fast, .seconds(5)), (.immediate, .milliseconds(1_500)),
        ]
        for (round, (mode, downFor)) in plan.enumerated() {
            // A step running when PostgreSQL goes: its result can only be delivered once it is back.
            // Through the leader: a standby may still be reading the lease after the last outage.
            let leader = try #require(await Self.readyNodes(nodes).first, "no leader before outage \(round + 1)")
            let gatedRun = try await leader.client()
                .send("gate/start", data: ["i": .int(Int64(round))], id: "gate-\(round)").runIds
            #expect(gatedRun.count == 1)
            gatedRuns += gatedRun
            #expect(try await eventually(timeout: .seconds(30)) { gate.running == round + 1 })
            let stopping = ContinuousClock.now
            try postgres.stop(mode)
            let from = ContinuousClock.now
            print("postgres restart test: PostgreSQL stopped (\(mode.rawValue)) in \(Self.seconds(from - stopping)) s")
            // The result comes back while no node can acknowledge it: the worker holds it.
            try await Task.sleep(for: .milliseconds(500))
            gate.open(round)
            let held = await eventually(timeout: .seconds(10)) { workers[0].heldResults.contains(gatedRun.first ?? "") }
            #expect(held, "outage \(round + 1): f1 holds the gated step's result")
            try await Task.sleep(until: from + downFor, clock: .continuous)
            let until = ContinuousClock.now
            try postgres.start()
            let restarted = ContinuousClock.now
            outages.append(Outage(mode: mode, downFor: downFor, from: from, until: until))
            let back = await eventually(timeout: .seconds(30)) { await Self.readyNodes(nodes).count == 1 }
            #expect(back, "outage \(round + 1): no node became ready again")
            print(
                "postgres restart test: outage \(round + 1) (\(mode.rawValue), \(downFor)): PostgreSQL up in \(Self.seconds(restarted - until)) s; "
                    + "\(await Self.readyNodes(nodes).map(\.nodeId)) ready \(Self.seconds(ContinuousClock.now - restarted)) s later"
            )
            try await Task.sleep(for: .seconds(2))
        }
        poster.cancel()
        await poster.value

        // While PostgreSQL was down, nothing was accepted: every event sent and answered within
        // an outage was refused (or not answered), whatever node it went to.
        let records = await posts.records
        for outage in outages {
            let within = records.filter { $0.sentAt >= outage.from && $0.answeredAt <= outage.until }
            #expect(!within.isEmpty, "no event was sent during the \(outage.mode.rawValue) outage")
            let accepted = within.filter { (200..<300).contains($0.status ?? 0) }
            #expect(
                accepted.isEmpty, "accepted while PostgreSQL was down (\(outage.mode.rawValue)): \(accepted.map(\.i))")
        }
        // The leader stopped being ready within each outage (it failed to commit the gated
        // step's result, if nothing else), and no node was ready once the lease it held may have
        // run out (by the holder's own clock, which started before PostgreSQL stopped).
        prober.cancel()
        await prober.value
        let probes = await readiness.samples
        let lease = Duration.milliseconds(3_000)
        for (round, outage) in outages.enumerated() {
            let within = probes.filter { $0.sentAt >= outage.from && $0.sentAt <= outage.until }
            let notReady = Set(within.filter { $0.status != 200 }.map(\.nodeId))
            #expect(
                notReady == Set(nodes.map(\.nodeId)), "outage \(round + 1): nodes found not ready: \(notReady.sorted())"
            )
            guard outage.downFor > lease else { continue }
            let late = within.filter { $0.sentAt >= outage.from + lease }
            #expect(!late.isEmpty)
            let ready = late.filter { $0.status == 200 }
            #expect(ready.isEmpty, "ready while PostgreSQL was down: \(ready.map(\.nodeId))")
        }
        // Each outage ended a term: the leader now holds a lease taken after the last one.
        let view = try await HTTPExchange.send(
            port: (await Self.readyNodes(nodes).first ?? nodes[0]).httpPort, .GET, "/v1/cluster",
            apiKey: ChildClusterNode.apiKey)
        let epoch = try JSONValue(parsing: view.body)["epoch"]?.int64Value ?? 0
        #expect(epoch >= 1 + Int64(outages.count), "epoch \(epoch) after \(outages.count) outages")
        // The standby listens for appends again (its notification connection died with the server).
        let listening = await eventually(timeout: .seconds(10)) {
            let count = try? PostgresTestServer.run(
                "/usr/bin/psql",
                [
                    journal, "-tAc",
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
                ])
            return count?.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }
        #expect(listening, "the standby's LISTEN connection did not come back")

        // Every event is sent again with its id until accepted: a duplicate returns the runs it
        // started the first time, so the runs are exactly one per event.
        let sent = await posts.highest
        #expect(
            try await eventually(timeout: .seconds(60)) {
                for i in 0...sent where await posts.runId(i) == nil { await posts.post(i, through: clients[i % 2]) }
                return await posts.acknowledgedCount == sent + 1
            })
        let runIds = await posts.runs(0...sent)
        let leader = await Self.readyNodes(nodes).first ?? nodes[0]
        let finished = try await leader.client().waitForRuns(runIds, timeout: .seconds(120))
        approver.cancel()
        #expect(finished.count == runIds.count, "runs ended: \(finished.count) of \(runIds.count)")
        for (i, runId) in runIds.enumerated() {
            let run = finished[runId]
            #expect(
                run?["status"]?.stringValue == "completed",
                "run \(i): \(run.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "")")
            #expect(run?["output"]?.stringValue == expectedMixOutput(i), "run \(i)")
        }
        // The gated steps' results, held through the outages, were delivered once.
        let gated = try await leader.client().waitForRuns(gatedRuns, timeout: .seconds(30))
        for (round, runId) in gatedRuns.enumerated() {
            #expect(
                gated[runId]?["output"] == .int(Int64(round)),
                "gated run \(round): \(gated[runId].map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "")")
        }
        let executions = counter.snapshot
        var repeated = Self.stepsRunTwice(executions, runs: 0...sent)
        repeated += (0..<outages.count).map { "gate-\($0)" }.filter { (executions[$0] ?? 0) != 1 }
        #expect(repeated.isEmpty, "step bodies run twice: \(repeated.sorted())")
        if !repeated.isEmpty { Self.keepLogs(of: directory, runIds: runIds) }
        for node in nodes {
            #expect(!node.process.log.contains("Fatal error"), "\(node.nodeId) trapped")
            // A journal outage is no store failure that needs a restart, and no node says it is.
            #expect(!node.process.log.contains("until restarted"), "\(node.nodeId) asked for a restart")
        }
        let accepted = records.filter { (200..<300).contains($0.status ?? 0) }.count
        print(
            "postgres restart test: \(runIds.count) runs completed, \(records.count) sends (\(accepted) accepted before the resends); "
                + "run twice: \(repeated.count)")
        for worker in workers { await worker.shutdown() }
        for node in nodes { await node.process.stop() }
    }

    /// The nodes answering `/readyz` 200 now.
    static func readyNodes(_ nodes: [ChildClusterNode]) async -> [ChildClusterNode] {
        var ready: [ChildClusterNode] = []
        for node in nodes where (try? await HTTPExchange.send(port: node.httpPort, .GET, "/readyz"))?.status == 200 {
            ready.append(node)
        }
        return ready
    }

    /// Sends `mix/approve` to every third run whose approval step waits, again when it still
    /// waits 3 s after an accepted send (the event may have been lost with a refused commit).
    static func approve(_ posts: PostLedger, clients: [TetherClient]) async {
        var sentAt: [Int: ContinuousClock.Instant] = [:]
        var approved: Set<Int> = []
        var turn = 0
        while !Task.isCancelled {
            for (i, runId) in await posts.acknowledged where i % 3 == 0 && !approved.contains(i) {
                turn += 1
                let client = clients[turn % clients.count]
                guard let run = try? await client.runJSON(runId) else { continue }
                let approval = (run["steps"]?.arrayValue ?? []).first { $0["id"]?.stringValue == "approval" }
                if let status = approval?["status"]?.stringValue, status != "waiting" {
                    approved.insert(i)
                    continue
                }
                guard approval != nil, sentAt[i].map({ ContinuousClock.now - $0 > .seconds(3) }) ?? true else {
                    continue
                }
                let event: JSONValue = ["name": "mix/approve", "data": ["i": .int(Int64(i))]]
                if let sent = try? await client.request(.POST, "/v1/events", body: event.serialized()),
                    sent.status == 200
                {
                    sentAt[i] = .now
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
