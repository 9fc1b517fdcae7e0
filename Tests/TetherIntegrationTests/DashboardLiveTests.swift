import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import Tether
import TetherEngine
import TetherTestSupport

@testable import TetherCoordinator

@Suite("The dashboard against a live coordinator", .serialized)
struct DashboardLiveTests {
    @Test("GET / serves the page with its Content-Security-Policy, without an API key under serve")
    func servesPage() async throws {
        let coordinator = try await TestCoordinator { $0.apiKeys = ["k-1"] }
        let page = try await HTTPExchange.send(port: coordinator.endpoints.httpPort, .GET, "/")
        #expect(page.status == 200)
        #expect(page.contentType == "text/html; charset=utf-8")
        #expect(page.headers.first(name: "content-security-policy") == Dashboard.contentSecurityPolicy)
        #expect(page.text == Dashboard.html)
        // The page's API calls are what needs the key: 401 makes it ask for one.
        let status = try await HTTPExchange.send(port: coordinator.endpoints.httpPort, .GET, "/v1/status")
        #expect(status.status == 401)
        await coordinator.shutdown()
    }
}
