import Foundation
import TetherProcess
import Testing
import Tether
import TetherClient
import TetherEngine
import TetherTestSupport

@Suite("CLI and example worker", .serialized)
struct CLITests {
    @Test("tether dev + the example worker + tether send/runs show, as a newcomer would")
    func devWithExampleWorker() async throws {
        let directory = try TemporaryDirectory("tether-cli")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        let coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: workerPort, logPath: directory.path + "/dev.log")
        // `tether dev` created its embedded defaults and printed the worker env.
        for file in ["db", "tls/ca.pem", "tls/server.pem", "tls/server-key.pem", "signing-key"] {
            #expect(FileManager.default.fileExists(atPath: data + "/" + file), "\(file)")
        }
        let printedEnv = await eventually(timeout: .seconds(10)) { coordinator.process.log.contains("TETHER_SIGNING_KEY=tsk_") }
        #expect(printedEnv)

        let key = try String(contentsOfFile: data + "/signing-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let worker = try ChildProcess(
            "tether-example", arguments: [],
            environment: [
                "TETHER_COORDINATOR": "127.0.0.1:\(workerPort)", "TETHER_SIGNING_KEY": key,
                "TETHER_CA_FILE": data + "/tls/ca.pem", "TETHER_INSTANCE_ID": "example-1",
            ], logPath: directory.path + "/worker.log")
        let client = try coordinator.client()
        let registered = try await eventually {
            try await client.request(.GET, "/v1/functions").json?["functions"]?[0]?["id"]?.stringValue == "shop:process-order"
        }
        #expect(registered, "worker log:\n\(worker.log)")

        let send = try await runCLI(["send", "order/created", "--data", #"{"orderId":"o-42","amount":4200}"#, "--url", "http://127.0.0.1:\(httpPort)"], directory: directory)
        #expect(send.status == 0, "\(send.output)")
        let runId = try #require(send.output.split(separator: "\n").first { $0.contains("run ") }?.split(separator: " ").last.map(String.init))

        let runs = try await client.waitForRuns([runId])
        let run = try #require(runs[runId])
        #expect(run["status"]?.stringValue == "completed")
        #expect(run["output"]?["chargeId"]?.stringValue == "ch_o-42_4200")
        #expect(run["steps"]?.arrayValue?.map { $0["id"]?.stringValue ?? "" } == ["reserve-stock", "charge", "send-receipt"])

        let show = try await runCLI(["runs", "show", runId, "--url", "http://127.0.0.1:\(httpPort)"], directory: directory)
        #expect(show.status == 0)
        #expect(show.output.contains("completed"))
        #expect(show.output.contains("send-receipt"))
        let status = try await runCLI(["status", "--url", "http://127.0.0.1:\(httpPort)"], directory: directory)
        #expect(status.output.contains("example-1"))
        // No journal: a single node, named as /v1/cluster names it (the host name).
        let nodeId = try #require(try await client.request(.GET, "/v1/cluster").json?["nodeId"]?.stringValue)
        #expect(status.output.contains("\ncluster     \(nodeId) is a single node (no journal)\n"), "\(status.output)")

        // SIGTERM drains the worker: it says goodbye and exits cleanly.
        await worker.stop(signal: SIGTERM)
        #expect(worker.process.terminationStatus == 0, "worker log:\n\(worker.log)")
        await coordinator.process.stop(signal: SIGTERM)
        #expect(coordinator.process.process.terminationStatus == 0, "coordinator log:\n\(coordinator.process.log)")
    }

    @Test("tether status names the node's role, epoch, leader and journal lag, on the leader and on a standby")
    func statusInCluster() async throws {
        let journal = try PostgresTestServer.freshDatabase("status")
        let directory = try TemporaryDirectory("tether-status-cluster")
        let credentials = try TestCredentials(in: directory.path)
        let cluster = ClusterLiveTests.cluster
        func node(_ id: String) async throws -> TestCoordinator {
            try await ClusterLiveTests.node(id, journal: journal, credentials: credentials, directory: directory)
        }
        let a = try await node("node-a")
        #expect(try await eventually(timeout: .seconds(20)) { try await cluster(a)["role"]?.stringValue == "leader" })
        let b = try await node("node-b")
        // Settled: node-b stands by and has applied all that node-a wrote (no workers, no events).
        #expect(
            try await eventually(timeout: .seconds(20)) {
                let leader = try await cluster(a)["journal"]
                let standby = try await cluster(b)
                return standby["role"]?.stringValue == "standby"
                    && standby["journal"]?["appliedSeq"] == leader?["lastSeq"]
                    && standby["journal"]?["lagMs"]?.int64Value == 0
            })
        let view = try await cluster(a)
        let epoch = try #require(view["epoch"]?.int64Value)
        let sequence = try #require(view["journal"]?["lastSeq"]?.int64Value)
        let leader = "127.0.0.1:\(a.endpoints.httpPort)"
        let progress = "journal \(sequence) of \(sequence) applied, lag 0 ms"

        let onLeader = try await runCLI(["status", "--url", a.httpURL], directory: directory)
        #expect(onLeader.status == 0, "\(onLeader.output)")
        let leaderLine = "\ncluster     node-a is the leader at \(leader), epoch \(epoch); \(progress)\n"
        #expect(onLeader.output.contains(leaderLine), "\(onLeader.output)")
        // On the standby the line is the standby's own view; the rest is the leader's (redirected).
        let onStandby = try await runCLI(["status", "--url", b.httpURL], directory: directory)
        #expect(onStandby.status == 0, "\(onStandby.output)")
        let standbyLine = "\ncluster     node-b is a standby, epoch \(epoch), leader node-a at \(leader); \(progress)\n"
        #expect(onStandby.output.contains(standbyLine), "\(onStandby.output)")
        #expect(onStandby.output.contains("\ncapacity    0 in flight / 0 slots, 0 available\n"), "\(onStandby.output)")
        await b.shutdown()
        await a.shutdown()
    }

    @Test("POST /v1/admin/drain ends tether dev on its own, with exit status 0")
    func drainExitsCleanly() async throws {
        let directory = try TemporaryDirectory("tether-drain")
        let httpPort = try await freePort()
        let workerPort = try await freePort()
        let coordinator = try await ChildCoordinator.start(
            dataDirectory: directory.path + "/data", httpPort: httpPort, workerPort: workerPort,
            logPath: directory.path + "/dev.log")
        let client = try coordinator.client()
        let accepted = try await client.request(.POST, "/v1/admin/drain", body: Array(#"{"reconnectWithinMs": 1000}"#.utf8))
        #expect(accepted.status == 202)
        let exited = await eventually(timeout: .seconds(30)) { !coordinator.process.isRunning }
        #expect(exited, "\(coordinator.process.log)")
        #expect(coordinator.process.process.terminationStatus == 0, "\(coordinator.process.log)")
    }

    @Test("tether keys/certs generate + tether serve --config: TLS from files, API keys required on /v1 and /metrics")
    func serveWithConfig() async throws {
        let directory = try TemporaryDirectory("tether-serve")
        let certs = try await runCLI(["certs", "generate", "--out", directory.path + "/tls", "--host", "tether.internal"], directory: directory)
        #expect(certs.status == 0, "\(certs.output)")
        let keys = try await runCLI(["keys", "generate", "--out", directory.path + "/signing-key"], directory: directory)
        #expect(keys.status == 0, "\(keys.output)")
        let again = try await runCLI(["keys", "generate", "--out", directory.path + "/signing-key"], directory: directory)
        #expect(again.status != 0, "never overwrites a key")
        try "api-key-1\n".write(toFile: directory.path + "/api-key", atomically: true, encoding: .utf8)

        let httpPort = try await freePort()
        let workerPort = try await freePort()
        let config = """
            {"host": "127.0.0.1", "httpPort": \(httpPort), "workerPort": \(workerPort), "data": "data",
             "durability": "relaxed", "tls": {"certificate": "tls/server.pem", "privateKey": "tls/server-key.pem"},
             "signingKeyFiles": ["signing-key"], "apiKeyFiles": ["api-key"],
             "maxPreHandshakeConnections": 1234, "preHandshakeTimeoutMilliseconds": 5000}
            """
        try config.write(toFile: directory.path + "/tether.json", atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            "tether", arguments: ["serve", "--config", directory.path + "/tether.json"], logPath: directory.path + "/serve.log")
        let anonymous = try TetherClient(url: "http://127.0.0.1:\(httpPort)")
        let up = try await eventually(timeout: .seconds(60)) {
            guard server.isRunning else { throw TestFailure("tether serve exited:\n\(server.log)") }
            return (try? await anonymous.request(.GET, "/healthz").status) == 200
        }
        #expect(up)
        let refused = try await anonymous.request(.GET, "/v1/status")
        #expect(refused.status == 401)
        #expect(refused.json?["error"]?["code"]?.stringValue == "unauthenticated")
        let wrong = try await TetherClient(url: "http://127.0.0.1:\(httpPort)", apiKey: "nope").request(.GET, "/v1/status")
        #expect(wrong.status == 401)
        let allowed = try await TetherClient(url: "http://127.0.0.1:\(httpPort)", apiKey: "api-key-1").request(.GET, "/v1/status")
        #expect(allowed.status == 200)
        #expect(allowed.json?["coordinator"]?["durability"]?.stringValue == "relaxed")
        #expect(allowed.json?["handshakes"]?["awaitingClientHelloLimit"]?.int64Value == 1234)
        // /metrics is authenticated like /v1 unless the file sets metricsPublic.
        #expect(try await anonymous.request(.GET, "/metrics").status == 401)
        let metrics = try await TetherClient(url: "http://127.0.0.1:\(httpPort)", apiKey: "api-key-1")
            .request(.GET, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("# TYPE tether_workers_connected gauge"))

        // A worker authenticates with the key file's key and trusts the generated CA.
        let key = try String(contentsOfFile: directory.path + "/signing-key", encoding: .utf8)
        var options = WorkerOptions(environment: [:])
        options.coordinator = "127.0.0.1:\(workerPort)"
        options.signingKey = key
        options.caFile = directory.path + "/tls/ca.pem"
        options.instanceId = "served"
        let worker = TestWorker(functions: [orderFunction(worker: "w", ledger: StepLedger())], options: options)
        let client = try TetherClient(url: "http://127.0.0.1:\(httpPort)", apiKey: "api-key-1")
        let registered = try await eventually {
            try await client.request(.GET, "/v1/status").json?["workers"]?.arrayValue?.count == 1
        }
        #expect(registered, "\(server.log)")
        await worker.shutdown()
        await server.stop()
    }

    @Test("tether serve refuses a bad config file with exit status 64 and a message naming the key")
    func serveRefusesBadConfig() async throws {
        let directory = try TemporaryDirectory("tether-serve-bad")
        for (config, message) in [
            (#"{"data": "data", "htpPort": 1}"#, "unknown setting(s) htpPort"),
            (#"{"data": "data", "tls": {"certificate": "c.pem", "privateKey": "k.pem", "chain": "x"}}"#, "unknown setting(s) tls.chain"),
            (#"{"data": "data", "httpTls": {"certificate": "c.pem", "privateKey": "k.pem", "chain": "x"}}"#, "unknown setting(s) httpTls.chain"),
            (#"{"data": "data", "httpPort": "7420"}"#, "'httpPort'"),
            (#"{"data": "data", "maxActiveRuns": 0}"#, "maxActiveRuns must be a positive integer, got 0"),
        ] {
            try config.write(toFile: directory.path + "/tether.json", atomically: true, encoding: .utf8)
            let result = try await runCLI(["serve", "--config", directory.path + "/tether.json"], directory: directory)
            #expect(result.status == 64, "\(result.output)")
            #expect(result.output.contains(message), "\(result.output)")
        }
    }

    @Test("tether bench chain and latency run at tiny size and print their JSON")
    func benchSmoke() async throws {
        let directory = try TemporaryDirectory("tether-bench")
        for (scenario, runs) in [("chain", 6), ("latency", 3)] {
            let result = try await runCLI(
                ["bench", scenario, "--runs", String(runs), "--workers", "2", "--slots", "2", "--durability", "relaxed"],
                directory: directory)
            #expect(result.status == 0, "\(result.output)")
            let line = try #require(result.output.split(separator: "\n").last { $0.hasPrefix("{") })
            let json = try JSONValue(parsing: String(line))
            #expect(json["scenario"]?.stringValue == scenario)
            #expect(json["completedRuns"]?.int64Value == Int64(runs))
            #expect(json["completedSteps"]?.int64Value == Int64(runs * 3))
            #expect(json["latencyMs"]?["stepToStep"]?["count"]?.doubleValue == Double(runs * 2))
            #expect((json["stepsPerSecond"]?.doubleValue ?? 0) > 0)
        }
    }

    @Test("tether bench fanout, open, connections and reconnect run at tiny size and print their JSON")
    func benchSmokeOtherScenarios() async throws {
        let directory = try TemporaryDirectory("tether-bench")
        func json(_ arguments: [String]) async throws -> JSONValue {
            let result = try await runCLI(["bench"] + arguments, directory: directory)
            #expect(result.status == 0, "\(result.output)")
            let line = try #require(result.output.split(separator: "\n").last { $0.hasPrefix("{") })
            let json = try JSONValue(parsing: String(line))
            #expect(json["scenario"]?.stringValue == arguments[0])
            #expect(json["errors"]?.int64Value == 0)
            return json
        }
        let fanout = try await json(["fanout", "--runs", "4", "--parallel", "3", "--workers", "2", "--slots", "2", "--durability", "relaxed"])
        #expect(fanout["completedRuns"]?.int64Value == 4)
        #expect(fanout["completedSteps"]?.int64Value == 12)
        #expect(fanout["latencyMs"]?["eventToFirstStep"]?["count"]?.doubleValue == 12)

        let open = try await json(["open", "--rate", "5", "--duration", "1", "--workers", "1", "--slots", "2", "--durability", "relaxed"])
        #expect(open["completedRuns"]?.int64Value == 5)
        #expect(open["completedSteps"]?.int64Value == 15)
        #expect(open["parameters"]?["ratePerSecond"]?.int64Value == 5)

        let connections = try await json(["connections", "--workers", "5", "--measure-seconds", "1"])
        #expect(connections["connectedWorkers"]?.int64Value == 5)
        #expect((connections["coordinator"]?["rssBytes"]?.int64Value ?? 0) > 0)
        #expect(connections["coordinator"]?["heartbeatCpuPercentOfCore"]?.doubleValue != nil)

        let reconnect = try await json(["reconnect", "--workers", "6", "--max-concurrent-handshakes", "2"])
        #expect((reconnect["allBackSecondsAfterKill"]?.doubleValue ?? 0) > 0)
        let peak = reconnect["handshakes"]?["peakInProgress"]?.int64Value ?? 0
        #expect(peak >= 1 && peak <= 2)
    }

    func runCLI(_ arguments: [String], directory: TemporaryDirectory) async throws -> (status: Int32, output: String) {
        try await runTether(arguments, directory: directory)
    }
}
