import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TetherStore

@testable import TetherCoordinator
@testable import TetherEngine

/// The coordinator's router driven in memory (HummingbirdTesting's `.router`): a real store in a
/// temporary directory and a real scheduler runtime, but no TLS, no worker port and no HTTP port.
/// For what only HTTP can show (framing, chunked bodies, connections) the live tests remain.
final class RouterFixture: Sendable {
    let directory: String
    let configuration: CoordinatorConfiguration
    let threadPool: NIOThreadPool
    let engine: CoordinatorEngine
    let handlers: APIHandlers
    let logger: Logger
    let routes: [RegisteredRoute]
    /// The reconnect windows `POST /v1/admin/drain` asked for.
    let drains = DrainRequests()

    final class DrainRequests: Sendable {
        private let windows = Mutex<[UInt32]>([])
        func append(_ window: UInt32) { windows.withLock { $0.append(window) } }
        var all: [UInt32] { windows.withLock { $0 } }
    }

    private init(configure: (inout CoordinatorConfiguration) -> Void) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-router-\(UUID().uuidString)").path
        var configuration = CoordinatorConfiguration(
            dataDirectory: directory, signingKeys: [], tlsCertificatePath: "", tlsPrivateKeyPath: "")
        configuration.durability = .relaxed
        configuration.checksInvariants = true
        configure(&configuration)
        self.configuration = configuration
        threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        var logger = Logger(label: "tether.router-test")
        logger.logLevel = .critical
        engine = try await CoordinatorEngine.open(
            configuration: configuration, loop: MultiThreadedEventLoopGroup.singleton.next(), threadPool: threadPool,
            metrics: CoordinatorMetrics(), logger: logger)
        let drains = self.drains
        self.logger = logger
        handlers = APIHandlers(
            runtime: engine.runtime, store: engine.store, threadPool: threadPool, configuration: configuration,
            limiter: engine.limiter, requestDrain: { window in drains.append(window) })
        routes = try HTTPRouter.build(handlers: handlers, limiter: engine.limiter, logger: logger).routes
    }

    private func close() async {
        await engine.runtime.stop(reconnectWithinMilliseconds: 100)
        engine.store.close()
        try? await threadPool.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: configuration.resolvedBackupDirectory)
    }

    /// Runs `test` against a fresh coordinator's router, then stops it and removes its data.
    static func test<Value: Sendable>(
        configure: (inout CoordinatorConfiguration) -> Void = { _ in },
        _ test: @Sendable (any TestClientProtocol, RouterFixture) async throws -> Value
    ) async throws -> Value {
        let fixture = try await RouterFixture(configure: configure)
        do {
            let router = try HTTPRouter.build(handlers: fixture.handlers, limiter: fixture.engine.limiter, logger: fixture.logger)
                .router
            let value = try await Application(router: router).test(.router) { client in
                try await test(client, fixture)
            }
            await fixture.close()
            return value
        } catch {
            await fixture.close()
            throw error
        }
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSONValue? { try? JSONValue(parsing: Array(buffer: body)) }
    var errorCode: String? { json?["error"]?["code"]?.stringValue }
}

extension TestClientProtocol {
    func request(
        _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}
