import Foundation
import Testing
import Tether
import TetherCluster
import TetherCoordinator
import TetherEngine
import TetherProcess
import TetherTestSupport

/// Cluster mode in one process: two coordinator nodes on one PostgreSQL journal, each with its
/// own RocksDB, real TLS workers. (Crash tests kill real node processes: ClusterFailoverTests.)
@Suite("Cluster mode, in process", .serialized)
struct ClusterLiveTests {
    /// A node of a cluster on fixed free ports (a node advertises them); `configure` sets more.
    static func node(
        _ id: String, journal: String, credentials: TestCredentials, directory: TemporaryDirectory,
        configure: @escaping (inout CoordinatorConfiguration) -> Void = { _ in }
    ) async throws -> TestCoordinator {
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        return try await TestCoordinator(directory: directory.path + "/\(id)", credentials: credentials) { configuration in
            configuration.httpPort = httpPort
            configuration.workerPort = workerPort
            var cluster = ClusterConfiguration(
                journal: try! JournalURL(journal), nodeId: id, advertisedHTTP: "127.0.0.1:\(httpPort)",
                advertisedWorker: "127.0.0.1:\(workerPort)")
            cluster.leaseMilliseconds = 2_000
            cluster.renewIntervalMilliseconds = 500
            configuration.cluster = cluster
            configuration.reconnectWindowMilliseconds = 500
            configure(&configuration)
        }
    }

    /// `GET /v1/cluster`; null while the node is between roles (its ports briefly closed).
    static func cluster(_ node: TestCoordinator) async throws -> JSONValue {
        guard let answer = try? await HTTPExchange.send(port: node.endpoints.httpPort, .GET, "/v1/cluster") else { return .null }
        return (try? JSONValue(parsing: answer.body)) ?? .null
    }

    @Test("one node leads, the other stands by, redirects, catches up and takes over on a graceful stop")
    func leaderAndStandby() async throws {
        let journal = try PostgresTestServer.freshDatabase("cluster")
        let directory = try TemporaryDirectory("tether-cluster")
        let credentials = try TestCredentials(in: directory.path)
        let a = try await Self.node("node-a", journal: journal, credentials: credentials, directory: directory)
        // Let node-a take the lease first, so the roles are known.
        #expect(try await eventually(timeout: .seconds(20)) { try await Self.cluster(a)["role"]?.stringValue == "leader" })
        let b = try await Self.node("node-b", journal: journal, credentials: credentials, directory: directory)
        #expect(
            try await eventually(timeout: .seconds(20)) {
                let view = try await Self.cluster(b)
                return view["role"]?.stringValue == "standby" && view["leader"]?["nodeId"]?.stringValue == "node-a"
            })

        // The standby is healthy but not ready, and sends API requests to the leader.
        #expect(try await HTTPExchange.send(port: b.endpoints.httpPort, .GET, "/healthz").status == 200)
        let notReady = try await HTTPExchange.send(port: b.endpoints.httpPort, .GET, "/readyz")
        #expect(notReady.status == 503)
        #expect(try JSONValue(parsing: notReady.body)["error"]?["code"]?.stringValue == "not_leader")
        #expect(try await HTTPExchange.send(port: a.endpoints.httpPort, .GET, "/readyz").status == 200)
        let redirect = try await HTTPExchange.send(port: b.endpoints.httpPort, .GET, "/v1/runs?limit=3")
        #expect(redirect.status == 307)
        #expect(redirect.headers.first(name: "location") == "http://127.0.0.1:\(a.endpoints.httpPort)/v1/runs?limit=3")

        // Work on the leader: events through the standby (the client follows the redirect).
        let ledger = StepLedger()
        let workerA = TestWorker(
            functions: [orderFunction(worker: "w1", ledger: ledger)], options: a.workerOptions(instanceId: "w1", capacity: 4))
        let viaStandby = try b.client()
        var runIds: [String] = []
        for index in 0..<20 {
            let (_, runs) = try await viaStandby.send("order/created", data: ["orderId": .string("o-\(index)"), "amount": .int(Int64(index + 1))])
            runIds.append(contentsOf: runs)
        }
        let finished = try await a.client().waitForRuns(runIds)
        #expect(finished.values.allSatisfy { $0["status"]?.stringValue == "completed" })

        // The standby caught up with everything the leader committed.
        #expect(
            try await eventually(timeout: .seconds(20)) {
                let leader = try await Self.cluster(a)["journal"]
                let standby = try await Self.cluster(b)["journal"]
                return leader?["lastSeq"] == standby?["appliedSeq"] && standby?["lagMs"]?.int64Value == 0
            })
        let metrics = try await HTTPExchange.send(port: a.endpoints.httpPort, .GET, "/metrics").text
        #expect(metrics.contains("tether_cluster_role{role=\"leader\"} 1"))
        #expect(metrics.contains("tether_journal_appends_total"))

        // A graceful stop gives the lease up: the standby leads at once, with every run.
        await workerA.shutdown()
        await a.shutdown()
        #expect(try await eventually(timeout: .seconds(20)) { try await Self.cluster(b)["role"]?.stringValue == "leader" })
        #expect(try await Self.cluster(b)["epoch"]?.int64Value == 2)
        let client = try b.client()
        for id in runIds {
            let run = try await client.runJSON(id)
            #expect(run["status"]?.stringValue == "completed")
            #expect(run["steps"]?.arrayValue?.count == 3)
        }
        // And it takes new work.
        let workerB = TestWorker(
            functions: [orderFunction(worker: "w2", ledger: ledger)], options: b.workerOptions(instanceId: "w2", capacity: 4))
        let (_, more) = try await client.send("order/created", data: ["orderId": "o-late", "amount": 7])
        let late = try await client.waitForRuns(more)
        #expect(late.values.allSatisfy { $0["status"]?.stringValue == "completed" })
        #expect(ledger.executions.values.allSatisfy { $0 == 1 })
        await workerB.shutdown()
        await b.shutdown()
    }
}
