import Foundation
import Testing
import TetherCoordinator
import TetherEngine
import TetherProtocol
import TetherStore
import TetherTelemetry

@Suite("tether serve's file, flags and environment")
struct ServeConfigurationTests {
    static let key = SigningKey.generate().text

    /// A directory holding `tether.json` with `settings` over a minimal valid file.
    struct ConfigFile {
        let directory: URL
        var path: String { directory.appendingPathComponent("tether.json").path }

        init(_ settings: String = "", minimal: Bool = true) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-serve-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let base = #""data": "db", "tls": {"certificate": "tls/server.pem", "privateKey": "tls/server-key.pem"}, "signingKeys": ["\#(ServeConfigurationTests.key)"], "apiKeys": ["api-1"]"#
            let body = [minimal ? base : "", settings].filter { !$0.isEmpty }.joined(separator: ", ")
            try Data("{\(body)}".utf8).write(to: directory.appendingPathComponent("tether.json"))
        }

        func load(flags: ServeFlags = ServeFlags(), environment: [String: String] = [:]) async throws -> CoordinatorConfiguration {
            try await CoordinatorConfiguration.serve(configFile: path, flags: flags, environment: environment)
        }

        func error(flags: ServeFlags = ServeFlags(), environment: [String: String] = [:]) async -> String {
            do {
                _ = try await load(flags: flags, environment: environment)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
    }

    @Test("defaults come from CoordinatorConfiguration, relative paths from the file's directory")
    func defaults() async throws {
        let file = try ConfigFile()
        let configuration = try await file.load()
        let defaults = CoordinatorConfiguration(dataDirectory: "", signingKeys: [], tlsCertificatePath: "", tlsPrivateKeyPath: "")
        #expect(configuration.host == defaults.host)
        #expect(configuration.httpPort == DefaultPorts.http)
        #expect(configuration.workerPort == DefaultPorts.worker)
        #expect(configuration.durability == .strict)
        #expect(configuration.metricsPublic == false)
        #expect(configuration.limits.maxActiveRuns == Limits.default.maxActiveRuns)
        #expect(configuration.timing.maxConcurrentHandshakes == ProtocolTiming.default.maxConcurrentHandshakes)
        #expect(configuration.preHandshakeTimeoutMilliseconds == defaults.preHandshakeTimeoutMilliseconds)
        let directory = file.directory.standardizedFileURL.path
        #expect(configuration.dataDirectory == directory + "/db")
        #expect(configuration.tlsCertificatePath == directory + "/tls/server.pem")
        #expect(configuration.apiKeys == ["api-1"])
        #expect(configuration.signingKeys.count == 1)
        #expect(configuration.backupDirectory == nil)
        #expect(configuration.resolvedBackupDirectory == directory + "/db-backups")
    }

    @Test("backups: the file's relative to the file, the flag's to the current directory; the default beside the data")
    func backupDirectory() async throws {
        let file = try ConfigFile(#""backups": "../saved""#)
        let directory = file.directory.standardizedFileURL
        #expect(try await file.load().resolvedBackupDirectory == directory.deletingLastPathComponent().path + "/saved")
        let flagged = try await file.load(flags: ServeFlags(backups: "elsewhere"))
        #expect(flagged.resolvedBackupDirectory == URL(fileURLWithPath: "elsewhere").standardizedFileURL.path)
        #expect(await (try ConfigFile(#""backups": 5"#)).error().contains("backups"))
        var configuration = CoordinatorConfiguration(
            dataDirectory: "/var/lib/tether/", signingKeys: [], tlsCertificatePath: "", tlsPrivateKeyPath: "")
        #expect(configuration.resolvedBackupDirectory == "/var/lib/tether-backups")
        configuration.backupDirectory = "/srv/backups"
        #expect(configuration.resolvedBackupDirectory == "/srv/backups")
    }

    @Test("every key of the file is read")
    func everyKey() async throws {
        let file = try ConfigFile(
            #""host": "0.0.0.0", "httpPort": 8420, "workerPort": 8421, "durability": "relaxed", "metricsPublic": true, "maxConcurrentHandshakes": 64, "maxQueuedHandshakes": 100, "maxPreHandshakeConnections": 200, "preHandshakeTimeoutMilliseconds": 5000, "resumeGraceMilliseconds": 0, "maxActiveRuns": 1000, "maxPendingEventRequests": 16, "maxUncommittedWriteBytes": 1048576"#)
        let configuration = try await file.load()
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.httpPort == 8420)
        #expect(configuration.workerPort == 8421)
        #expect(configuration.durability == .relaxed)
        #expect(configuration.metricsPublic)
        #expect(configuration.timing.maxConcurrentHandshakes == 64)
        #expect(configuration.timing.maxQueuedHandshakes == 100)
        #expect(configuration.timing.maxPreHandshakeConnections == 200)
        #expect(configuration.preHandshakeTimeoutMilliseconds == 5000)
        #expect(configuration.timing.resumeGraceMilliseconds == 0)
        #expect(configuration.limits.maxActiveRuns == 1000)
        #expect(configuration.limits.maxPendingEventRequests == 16)
        #expect(configuration.limits.maxUncommittedWriteBytes == 1_048_576)
    }

    @Test("flags override the file; a relative --data is relative to the current directory")
    func flagsOverride() async throws {
        let file = try ConfigFile(#""host": "0.0.0.0", "httpPort": 8420, "durability": "relaxed", "maxConcurrentHandshakes": 64"#)
        let configuration = try await file.load(
            flags: ServeFlags(host: "127.0.0.2", httpPort: 9420, data: "here", durability: .strict, maxConcurrentHandshakes: 32))
        #expect(configuration.host == "127.0.0.2")
        #expect(configuration.httpPort == 9420)
        #expect(configuration.durability == .strict)
        #expect(configuration.timing.maxConcurrentHandshakes == 32)
        #expect(configuration.dataDirectory == URL(fileURLWithPath: "here").standardizedFileURL.path)
        // A flag also stands in for a file value of the wrong type.
        let bad = try ConfigFile(#""httpPort": "x""#)
        #expect(try await bad.load(flags: ServeFlags(httpPort: 9420)).httpPort == 9420)
    }

    @Test("TETHER_SIGNING_KEY and TETHER_API_KEYS add to the file's keys, comma-separated")
    func environment() async throws {
        let other = SigningKey.generate().text
        let configuration = try await ConfigFile().load(environment: [
            "TETHER_SIGNING_KEY": "\(other),", "TETHER_API_KEYS": " api-2 , ,api-3", "TETHER_CHECK_INVARIANTS": "1",
        ])
        #expect(configuration.signingKeys.count == 2)
        #expect(configuration.apiKeys == ["api-1", "api-2", "api-3"])
        #expect(configuration.checksInvariants)
        let fromEnvironmentOnly = try ConfigFile(#""data": "db", "tls": {"certificate": "c.pem", "privateKey": "k.pem"}"#, minimal: false)
        #expect(try await fromEnvironmentOnly.load(environment: ["TETHER_SIGNING_KEY": other, "TETHER_API_KEYS": "a"]).apiKeys == ["a"])
        #expect(await fromEnvironmentOnly.error().contains("no signing key"))
        #expect(await fromEnvironmentOnly.error(environment: ["TETHER_SIGNING_KEY": other]).contains("no API key"))
    }

    @Test("an unknown key is refused by name, at the top or nested")
    func unknownKeys() async throws {
        let top = try await ConfigFile(#""htpPort": 1, "extra": {"a": 1}"#).error()
        #expect(top.contains("unknown setting(s) extra.a, htpPort"), "\(top)")
        #expect(top.contains("known: ") && top.contains("apiKeyFiles, apiKeys"))
        let nested = try await ConfigFile(#""data": "db", "tls": {"certificate": "c.pem", "privateKey": "k.pem", "chain": "x"}, "signingKeys": ["\#(Self.key)"], "apiKeys": ["a"]"#, minimal: false).error()
        #expect(nested.contains("unknown setting(s) tls.chain"), "\(nested)")
    }

    @Test("cluster mode: the journal from the flag, the environment or the file, with the node's id, addresses and lease")
    func clusterKeys() async throws {
        let file = try ConfigFile(
            #""httpPort": 9420, "workerPort": 9421, "journal": "postgres://u:secret@db.internal:5433/tether?sslmode=require", "nodeId": "node-1", "advertise": {"http": "10.0.0.1:9420"}, "leaseMilliseconds": 6000"#)
        let configuration = try await file.load()
        let cluster = try #require(configuration.cluster)
        #expect(cluster.journal.host == "db.internal" && cluster.journal.port == 5433 && cluster.journal.database == "tether")
        #expect(cluster.journal.tls == .require && cluster.journal.password == "secret")
        #expect(!cluster.journal.redacted.contains("secret"))
        #expect(cluster.nodeId == "node-1" && configuration.nodeId == "node-1")
        #expect(cluster.advertisedHTTP == "10.0.0.1:9420" && cluster.advertisedWorker == "127.0.0.1:9421")
        #expect(cluster.leaseMilliseconds == 6000 && cluster.renewIntervalMilliseconds == 2000)
        // Checkpoints by default: every 10 minutes into `checkpoints` in the backup directory, 3 kept.
        #expect(cluster.checkpointIntervalMilliseconds == 600_000 && cluster.checkpointKeep == 3)
        #expect(configuration.resolvedCheckpointDirectory == configuration.resolvedBackupDirectory + "/checkpoints")
        let scheduled = try await ConfigFile(
            #""httpPort": 9420, "workerPort": 9421, "journal": "postgres://h/db", "checkpoints": {"directory": "shared/ckpt", "intervalSeconds": 30, "keep": 5}"#
        ).load()
        #expect(scheduled.cluster?.checkpointIntervalMilliseconds == 30_000 && scheduled.cluster?.checkpointKeep == 5)
        #expect(scheduled.resolvedCheckpointDirectory?.hasSuffix("/shared/ckpt") == true)
        #expect(scheduled.resolvedCheckpointDirectory?.hasPrefix("/") == true)
        // The flag wins over the environment, which wins over the file.
        let flagged = try await file.load(
            flags: ServeFlags(journal: "postgres://flag@h1/db", nodeId: "from-flag"),
            environment: ["TETHER_JOURNAL": "postgres://env@h2/db"])
        #expect(flagged.cluster?.journal.host == "h1" && flagged.cluster?.nodeId == "from-flag")
        let fromEnvironment = try await file.load(environment: ["TETHER_JOURNAL": "postgres://env@h2/db"])
        #expect(fromEnvironment.cluster?.journal.host == "h2")
        // No journal: a single node, as before.
        #expect(try await ConfigFile().load().cluster == nil)
    }

    @Test("cluster mode: a bad journal URL, node id, address or lease is refused by name; cluster keys need a journal")
    func badClusterKeys() async throws {
        for (settings, expected) in [
            (#""journal": "mysql://h/db""#, "journal: the journal must be a postgres://"),
            (#""journal": "postgres://h/db?sslmode=sometimes""#, "sslmode 'sometimes'"),
            (#""journal": "postgres://h/db", "nodeId": "a b""#, "nodeId must be"),
            (#""journal": "postgres://h/db", "httpPort": 0"#, "advertise.http must be host:port"),
            (#""journal": "postgres://h/db", "advertise": {"worker": "nohost"}"#, "advertise.worker must be host:port"),
            (#""journal": "postgres://h/db", "leaseMilliseconds": 500"#, "leaseMilliseconds must be between 1000 and 60000"),
            (#""journal": "postgres://h/db", "leaseMilliseconds": 2000, "leaseRenewMilliseconds": 1500"#, "at most half"),
            (#""nodeId": "n1""#, "nodeId only apply with a journal"),
            (#""checkpoints": {"keep": 2}"#, "checkpoints.keep only apply with a journal"),
            (#""journal": "postgres://h/db", "httpPort": 1, "workerPort": 2, "checkpoints": {"keep": 0}"#, "checkpoints.keep must be between 1 and 1000"),
            (#""journal": "postgres://h/db", "httpPort": 1, "workerPort": 2, "checkpoints": {"intervalSeconds": -1}"#, "checkpoints.intervalSeconds must be between 0 and 604800"),
        ] {
            let message = try await ConfigFile(settings).error()
            #expect(message.contains(expected), "\(settings): \(message)")
        }
    }

    @Test("otel: off by default; otel.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT turns it on; a bad one is refused by name")
    func otel() async throws {
        #expect(try await ConfigFile().load().tracing == nil)
        let filed = try await ConfigFile(#""otel": {"endpoint": "http://collector:4318", "serviceName": "coord-a"}"#).load()
        #expect(filed.tracing == TracingSettings(endpoint: "http://collector:4318", serviceName: "coord-a"))
        let fromEnvironment = try await ConfigFile().load(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"])
        #expect(fromEnvironment.tracing == TracingSettings(endpoint: nil, serviceName: "tether"))
        let off = try await ConfigFile(#""otel": {"endpoint": "http://c:4318"}"#).load(environment: ["OTEL_TRACES_EXPORTER": "none"])
        #expect(off.tracing == nil)
        let message = try await ConfigFile(#""otel": {"endpoint": "collector:4318"}"#).error()
        #expect(message.contains("otel: otel.endpoint \"collector:4318\" must start with http:// or https://"), "\(message)")
        let grpc = try await ConfigFile().error(
            environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"])
        #expect(grpc.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"), "\(grpc)")
    }

    @Test("retention: 7d by default; the file sets runs and events apart, --retention both; a bad duration names the key or flag")
    func retention() async throws {
        #expect(try await ConfigFile().load().retention == .default)
        let filed = try await ConfigFile(#""retention": {"runs": "30s", "events": "12h"}"#).load()
        #expect(filed.retention == RetentionPolicy(runsMilliseconds: 30_000, eventsMilliseconds: 43_200_000))
        let partial = try await ConfigFile(#""retention": {"events": "1d"}"#).load()
        #expect(partial.retention == RetentionPolicy(runsMilliseconds: 7 * 86_400_000, eventsMilliseconds: 86_400_000))
        let flagged = try await ConfigFile(#""retention": {"runs": "30s"}"#).load(flags: ServeFlags(retention: "2s"))
        #expect(flagged.retention == RetentionPolicy(milliseconds: 2_000))
        let bad = try await ConfigFile(#""retention": {"runs": "7 days"}"#).error()
        #expect(bad.contains("retention.runs must be a whole number followed by ms, s, m, h or d"), "\(bad)")
        #expect(bad.contains("got '7 days'"), "\(bad)")
        let badFlag = try await ConfigFile().error(flags: ServeFlags(retention: "0s"))
        #expect(badFlag.contains("--retention must be"), "\(badFlag)")
        let unknown = try await ConfigFile(#""retention": {"steps": "1d"}"#).error()
        #expect(unknown.contains("retention.steps"), "\(unknown)")
        let wrongType = try await ConfigFile(#""retention": {"runs": 7}"#).error()
        #expect(wrongType.contains("'retention.runs'"), "\(wrongType)")
    }

    @Test("a value of the wrong type names the key")
    func wrongType() async throws {
        for (settings, key) in [(#""httpPort": "7420""#, "httpPort"), (#""metricsPublic": "yes""#, "metricsPublic"), (#""host": 1"#, "host"), (#""apiKeyFiles": "k""#, "apiKeyFiles")] {
            let message = try await ConfigFile(settings).error()
            #expect(message.contains("'\(key)'"), "\(message)")
            #expect(message.contains("tether.json: invalid configuration"), "\(message)")
        }
    }

    @Test("out-of-range integers name the key; the backpressure bounds must be positive")
    func ranges() async throws {
        #expect(try await ConfigFile(#""maxConcurrentHandshakes": 0"#).error().contains("maxConcurrentHandshakes must be between 1 and 100000, got 0"))
        #expect(try await ConfigFile(#""resumeGraceMilliseconds": -1"#).error().contains("resumeGraceMilliseconds must be between 0 and 600000, got -1"))
        for key in ["maxActiveRuns", "maxPendingEventRequests", "maxUncommittedWriteBytes"] {
            let message = try await ConfigFile(#""\#(key)": 0"#).error()
            #expect(message.contains("\(key) must be a positive integer, got 0"), "\(message)")
        }
        #expect(try await ConfigFile(#""durability": "fast""#).error().contains("durability must be strict or relaxed, got 'fast'"))
    }

    @Test("missing data or tls, an unreadable file and invalid JSON are clear errors")
    func missing() async throws {
        let noData = try ConfigFile(#""tls": {"certificate": "c.pem", "privateKey": "k.pem"}, "signingKeys": ["\#(Self.key)"], "apiKeys": ["a"]"#, minimal: false)
        #expect(await noData.error().contains("\"data\" (the data directory) is required"))
        let noTLS = try ConfigFile(#""data": "db", "signingKeys": ["\#(Self.key)"], "apiKeys": ["a"]"#, minimal: false)
        #expect(await noTLS.error().contains("\"tls\" with \"certificate\" and \"privateKey\" is required"))
        do {
            _ = try await CoordinatorConfiguration.serve(configFile: "/nonexistent/tether.json", environment: [:])
            Issue.record("read a missing file")
        } catch {
            #expect("\(error)".hasPrefix("cannot read /nonexistent/tether.json"), "\(error)")
        }
        let file = try ConfigFile()
        try Data("{\"host\": ".utf8).write(to: URL(fileURLWithPath: file.path))
        #expect(await file.error().contains("tether.json: invalid configuration"))
        let badKey = try ConfigFile(#""data": "db", "tls": {"certificate": "c.pem", "privateKey": "k.pem"}, "signingKeys": ["nope"], "apiKeys": ["a"]"#, minimal: false)
        #expect(await badKey.error().contains("signing key: invalid signing key"))
    }

    @Test("httpTls: both files resolved against the file's directory and loaded; a missing file or key, or an unknown key, named")
    func httpTls() async throws {
        #expect(try await ConfigFile().load().httpTLS == nil)
        let file = try ConfigFile(#""httpTls": {"certificate": "https/server.pem", "privateKey": "https/server-key.pem"}"#)
        let tls = try DevCertificates.generate(into: file.directory.appendingPathComponent("https").path)
        let configuration = try await file.load()
        let directory = file.directory.standardizedFileURL.path
        #expect(configuration.httpTLS == HTTPTLSFiles(certificatePath: directory + "/https/server.pem", privateKeyPath: directory + "/https/server-key.pem"))
        #expect(configuration.httpScheme == "https")
        #expect(try await ConfigFile().load().httpScheme == "http")

        let missing = try await ConfigFile(#""httpTls": {"certificate": "none.pem", "privateKey": "none-key.pem"}"#).error()
        #expect(missing.contains("httpTls.certificate: cannot read "), "\(missing)")
        #expect(missing.contains("/none.pem (no such file)"), "\(missing)")
        let withoutKey = try await ConfigFile(#""httpTls": {"certificate": "\#(tls.serverCertificatePath)"}"#).error()
        #expect(withoutKey.contains("httpTls.privateKey is required with \"httpTls\""), "\(withoutKey)")
        // The CA's key is not the server certificate's.
        let mismatched = try await ConfigFile(
            #""httpTls": {"certificate": "\#(tls.serverCertificatePath)", "privateKey": "\#(tls.caKeyPath)"}"#
        ).error()
        #expect(mismatched.contains("httpTls: cannot serve HTTPS with"), "\(mismatched)")
        let notPEM = try await ConfigFile(
            #""httpTls": {"certificate": "\#(file.path)", "privateKey": "\#(tls.serverKeyPath)"}"#
        ).error()
        #expect(notPEM.contains("httpTls: cannot load the HTTPS certificate"), "\(notPEM)")
        let unknown = try await ConfigFile(#""httpTls": {"certificate": "c.pem", "privateKey": "k.pem", "chain": "x"}"#).error()
        #expect(unknown.contains("unknown setting(s) httpTls.chain"), "\(unknown)")
        let wrongType = try await ConfigFile(#""httpTls": {"certificate": 1, "privateKey": "k.pem"}"#).error()
        #expect(wrongType.contains("'httpTls.certificate'"), "\(wrongType)")
    }
}
