import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
@testable import Tether
import TetherClient
import TetherCoordinator
import TetherEngine
import TetherProtocol
import TetherStore

/// A temporary directory removed when the test ends.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ label: String = "tether") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// TLS material and a signing key for a test coordinator.
struct TestCredentials: Sendable {
    let tls: TLSFiles
    let key: SigningKey

    init(in directory: String) throws {
        tls = try DevCertificates.generate(into: directory + "/tls")
        key = SigningKey.generate()
    }
}

/// Quiet loggers unless TETHER_TEST_LOG is set.
func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["TETHER_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    return logger
}

/// A coordinator running in this process, on free ports, with a real RocksDB in a temp dir.
final class TestCoordinator: Sendable {
    /// The temporary directory this coordinator owns, when it was not given one.
    let ownedDirectory: TemporaryDirectory?
    let credentials: TestCredentials
    let coordinator: Coordinator
    let group: ServiceGroup
    let endpoints: Coordinator.Endpoints
    let task: Task<Void, any Error>

    var httpURL: String { "http://127.0.0.1:\(endpoints.httpPort)" }
    var workerAddress: String { "127.0.0.1:\(endpoints.workerPort)" }

    /// Starts a coordinator in `directory` (a new temporary one by default).
    init(
        directory: String? = nil, credentials: TestCredentials? = nil, durability: Durability = .strict,
        configure: (inout CoordinatorConfiguration) -> Void = { _ in }
    ) async throws {
        let path: String
        if let directory {
            ownedDirectory = nil
            path = directory
        } else {
            let owned = try TemporaryDirectory("tether-coordinator")
            ownedDirectory = owned
            path = owned.path
        }
        self.credentials = try credentials ?? TestCredentials(in: path)
        let credentials = self.credentials
        var configuration = CoordinatorConfiguration(
            dataDirectory: path + "/db", signingKeys: [credentials.key],
            tlsCertificatePath: credentials.tls.serverCertificatePath, tlsPrivateKeyPath: credentials.tls.serverKeyPath)
        configuration.httpPort = 0
        configuration.workerPort = 0
        configuration.durability = durability
        configure(&configuration)
        let logger = testLogger("test.coordinator")
        coordinator = Coordinator(configuration: configuration, logger: logger)
        group = ServiceGroup(configuration: .init(services: [.init(service: coordinator)], logger: logger))
        let group = self.group
        task = Task { try await group.run() }
        endpoints = try await coordinator.waitUntilRunning()
    }

    func client() throws -> TetherClient {
        try TetherClient(url: httpURL)
    }

    /// Worker options pointing at this coordinator.
    func workerOptions(instanceId: String, capacity: Int, key: SigningKey? = nil) -> WorkerOptions {
        var options = WorkerOptions(environment: [:])
        options.coordinator = workerAddress
        options.signingKey = (key ?? credentials.key).text
        options.caFile = credentials.tls.caCertificatePath
        options.instanceId = instanceId
        options.maxConcurrency = capacity
        options.shutdownGracePeriod = .seconds(5)
        return options
    }

    func shutdown() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A worker running in this process inside its own service group.
final class TestWorker: Sendable {
    let worker: Worker
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(app: String = "shop", functions: [TetherFunction], options: WorkerOptions) {
        worker = Worker(app: app, functions: functions, options: options, logger: testLogger("test.worker"))
        group = ServiceGroup(configuration: .init(services: [.init(service: worker)], logger: testLogger("test.worker")))
        let group = self.group
        task = Task { try await group.run() }
    }

    func shutdown() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Runs with a step in flight here or a result not yet acknowledged: the steps a coordinator crash may
    /// legitimately run again (their results were never durable).
    var runsNotYetDurable: Set<String> {
        worker.state.withLock { state in
            Set(state.inFlight.values).union(state.unacknowledged.values.map(\.stepResult.runID))
        }
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes (a guard against hangs,
/// not a timing assertion). Returns whether it held.
@discardableResult
func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

extension TetherClient {
    /// `GET /v1/runs/{id}` as JSON.
    func runJSON(_ id: String) async throws -> JSONValue {
        let response = try await request(.GET, "/v1/runs/\(id)")
        try response.throwIfError()
        return response.json ?? .null
    }

    /// Waits until every run in `ids` has ended; returns them by id.
    func waitForRuns(_ ids: [String], timeout: Duration = .seconds(120)) async throws -> [String: JSONValue] {
        var finished: [String: JSONValue] = [:]
        let ended: Set<String> = ["completed", "failed", "cancelled"]
        _ = try await eventually(timeout: timeout) {
            for id in ids where finished[id] == nil {
                let run = try await self.runJSON(id)
                if let status = run["status"]?.stringValue, ended.contains(status) {
                    finished[id] = run
                } else {
                    return false
                }
            }
            return true
        }
        return finished
    }
}
