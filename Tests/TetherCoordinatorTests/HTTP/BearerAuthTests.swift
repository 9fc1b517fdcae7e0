import Hummingbird
import Testing

@testable import TetherCoordinator

@Suite("Bearer authentication")
struct BearerAuthTests {
    typealias Middleware = BearerAuthMiddleware<BasicRequestContext>

    @Test("the scheme is case-insensitive and may be followed by several spaces; the token is exact")
    func scheme() {
        #expect(Middleware.bearerToken("Bearer k1") == "k1")
        #expect(Middleware.bearerToken("bearer k1") == "k1")
        #expect(Middleware.bearerToken("BEARER  k1") == "k1")
        #expect(Middleware.bearerToken("Bearer K1") == "K1", "the token keeps its case")
        #expect(Middleware.bearerToken("Bearer") == nil)
        #expect(Middleware.bearerToken("Bearer ") == nil)
        #expect(Middleware.bearerToken("Basic k1") == nil)
        #expect(Middleware.bearerToken("Bearerk1") == nil)
        #expect(Middleware.bearerToken("") == nil)
    }
}
