import Hummingbird
import Testing

@testable import TetherCoordinator

@Suite("GET /metrics")
struct MetricsRouteTests {
    @Test("answers in the Prometheus text format, version 0.0.4")
    func contentType() {
        let response = MetricsRoute.response(Array("x 1\n".utf8))
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
    }
}
