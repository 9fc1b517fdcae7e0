import Foundation
import NIOHTTP1
import Testing
import Tether
import TetherClient
import TetherCluster
import TetherCoordinator
import TetherEngine
import TetherProcess
import TetherTestSupport

/// HTTPS on the HTTP port: `tether dev --https` with its dev CA, the CLI and `TetherClient` over
/// it, plaintext refused on it, and a cluster standby redirecting to the leader over https.
@Suite("HTTPS on the HTTP port", .serialized)
struct HTTPSLiveTests {
    @Test("tether dev --https: the dashboard, the API and the CLI over https with the dev CA; plaintext refused cleanly")
    func devOverHTTPS() async throws {
        let directory = try TemporaryDirectory("tether-https")
        let data = directory.path + "/data"
        let httpPort = try await freePort()
        let coordinator = try await ChildCoordinator.start(
            dataDirectory: data, httpPort: httpPort, workerPort: try await freePort(), logPath: directory.path + "/dev.log",
            https: true)
        let url = coordinator.httpURL
        #expect(url == "https://127.0.0.1:\(httpPort)")
        let printed = await eventually(timeout: .seconds(10)) { coordinator.process.log.contains("export TETHER_URL=") }
        #expect(printed, "\(coordinator.process.log)")
        #expect(coordinator.process.log.contains("Dashboard:  \(url)/\n"), "\(coordinator.process.log)")
        #expect(coordinator.process.log.contains("export TETHER_CA_FILE=\(coordinator.caFile)\n"))

        // The dashboard page, over TLS, trusting the dev CA.
        let page = try await HTTPExchange.send(port: httpPort, .GET, "/", tlsCAFile: coordinator.caFile)
        #expect(page.status == 200)
        #expect(page.contentType == "text/html; charset=utf-8")
        #expect(page.text.contains("<html"))

        // The API: an event starts a run that a worker completes; the run is read back over https.
        let worker = TestWorker(
            functions: [orderFunction(worker: "w", ledger: StepLedger())],
            options: try coordinator.workerOptions(instanceId: "https-worker", capacity: 4))
        let client = try coordinator.client()
        #expect(
            try await eventually {
                try await client.request(.GET, "/v1/functions").json?["functions"]?[0]?["id"]?.stringValue == "shop:process-order"
            })
        let sent = try await client.request(
            .POST, "/v1/events", body: Array(#"{"name":"order/created","data":{"orderId":"o-1","amount":100}}"#.utf8))
        #expect(sent.status == 200, "\(sent.text)")
        let runId = try #require(sent.json?["events"]?[0]?["runs"]?[0]?.stringValue, "\(sent.text)")
        let run = try await client.waitForRuns([runId])[runId]
        #expect(run?["status"]?.stringValue == "completed")
        #expect(try await client.runJSON(runId)["id"]?.stringValue == runId)

        // The CLI, trusting the dev CA through TETHER_CA_FILE.
        let trusted = ["TETHER_CA_FILE": coordinator.caFile, "TETHER_URL": ""]
        let status = try await runTether(["status", "--url", url], environment: trusted, directory: directory)
        #expect(status.status == 0, "\(status.output)")
        #expect(status.output.contains("https-worker"), "\(status.output)")
        let send = try await runTether(
            ["send", "order/created", "--data", #"{"orderId":"o-2","amount":200}"#], environment: trusted.merging(["TETHER_URL": url]) { $1 },
            directory: directory)
        #expect(send.status == 0, "\(send.output)")
        let cliRun = try #require(send.output.split(separator: "\n").first { $0.contains("run ") }?.split(separator: " ").last.map(String.init))
        #expect(try await client.waitForRuns([cliRun])[cliRun]?["status"]?.stringValue == "completed")

        // Without the dev CA the CLI says what to trust, and exits 1.
        let untrusted = try await runTether(["status", "--url", url], environment: ["TETHER_CA_FILE": ""], directory: directory)
        #expect(untrusted.status == 1, "\(untrusted.output)")
        #expect(untrusted.output.contains("does not trust: set TETHER_CA_FILE"), "\(untrusted.output)")
        // An http:// URL for the HTTPS port: an error naming https, exit 1.
        let plainURL = try await runTether(["status", "--url", "http://127.0.0.1:\(httpPort)"], directory: directory)
        #expect(plainURL.status == 1, "\(plainURL.output)")
        #expect(plainURL.output.contains("use an https:// URL"), "\(plainURL.output)")

        // A plaintext request to the HTTPS port: closed (at most a TLS alert), never an HTTP answer;
        // nothing logged as an error, and the next HTTPS request is served.
        let plaintext = try await rawExchange(port: httpPort, Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        #expect(plaintext.closed)
        #expect(plaintext.answer.isEmpty || plaintext.answer.first == 0x15, "\(plaintext.answer)")
        #expect(!String(decoding: plaintext.answer, as: UTF8.self).contains("HTTP/"))
        #expect(try await client.request(.GET, "/healthz").status == 200)
        #expect(try await HTTPExchange.send(port: httpPort, .GET, "/readyz", tlsCAFile: coordinator.caFile).status == 200)
        // Log lines are "TIMESTAMP LEVEL LABEL: …".
        let errors = coordinator.process.log.split(separator: "\n").filter { line in
            ["error", "critical"].contains(line.split(separator: " ").dropFirst().first.map(String.init) ?? "")
        }
        #expect(errors.isEmpty, "\(errors)")

        await worker.shutdown()
        await coordinator.process.stop(signal: SIGTERM)
        #expect(coordinator.process.process.terminationStatus == 0, "\(coordinator.process.log)")
    }

    @Test("an https:// URL for a plain HTTP port: the CLI says the port serves plain HTTP, and exits 1")
    func httpsClientToPlainPort() async throws {
        let directory = try TemporaryDirectory("tether-https-plain")
        let coordinator = try await TestCoordinator()
        let result = try await runTether(
            ["status", "--url", "https://127.0.0.1:\(coordinator.endpoints.httpPort)"],
            environment: ["TETHER_CA_FILE": coordinator.credentials.tls.caCertificatePath], directory: directory)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("serves plain HTTP (use an http:// URL"), "\(result.output)")
        // The plain port is unharmed.
        #expect(try await coordinator.client().request(.GET, "/healthz").status == 200)
        await coordinator.shutdown()
    }

    @Test("a cluster with httpTls: the standby serves HTTPS and redirects to the leader with https://")
    func standbyRedirectsOverHTTPS() async throws {
        let journal = try PostgresTestServer.freshDatabase("https")
        let directory = try TemporaryDirectory("tether-https-cluster")
        let credentials = try TestCredentials(in: directory.path)
        let ca = credentials.tls.caCertificatePath
        func node(_ id: String) async throws -> TestCoordinator {
            try await ClusterLiveTests.node(id, journal: journal, credentials: credentials, directory: directory) {
                $0.httpTLS = HTTPTLSFiles(
                    certificatePath: credentials.tls.serverCertificatePath, privateKeyPath: credentials.tls.serverKeyPath)
            }
        }
        func role(_ node: TestCoordinator) async -> JSONValue {
            guard let answer = try? await HTTPExchange.send(port: node.endpoints.httpPort, .GET, "/v1/cluster", tlsCAFile: ca)
            else { return .null }
            return (try? JSONValue(parsing: answer.body)) ?? .null
        }
        let a = try await node("node-a")
        #expect(await eventually(timeout: .seconds(20)) { await role(a)["role"]?.stringValue == "leader" })
        let b = try await node("node-b")
        #expect(
            await eventually(timeout: .seconds(20)) {
                let view = await role(b)
                return view["role"]?.stringValue == "standby" && view["leader"]?["nodeId"]?.stringValue == "node-a"
            })
        let redirect = try await HTTPExchange.send(port: b.endpoints.httpPort, .GET, "/v1/runs?limit=3", tlsCAFile: ca)
        #expect(redirect.status == 307)
        #expect(redirect.headers.first(name: "location") == "https://127.0.0.1:\(a.endpoints.httpPort)/v1/runs?limit=3")
        // The standby's port is HTTPS only, and TetherClient follows its redirect over https.
        #expect(try await rawExchange(port: b.endpoints.httpPort, Array("GET /healthz HTTP/1.1\r\n\r\n".utf8)).closed)
        let viaStandby = try TetherClient(url: "https://127.0.0.1:\(b.endpoints.httpPort)", caCertificateFile: ca)
        #expect(try await viaStandby.runs(limit: 3).runs.isEmpty)
        await b.shutdown()
        await a.shutdown()
    }
}
