import Hummingbird
import Logging

/// The coordinator's whole HTTP surface on one router: error bodies, API keys, `405`s, the
/// generated `/v1` operations and the plain routes, and `/metrics`. The HTTP application serves
/// it; route tests drive it in memory.
enum HTTPRouter {
    static func build(
        handlers: APIHandlers, limiter: HandshakeLimiter, logger: Logger
    ) throws -> (router: Router<BasicRequestContext>, routes: [RegisteredRoute]) {
        let configuration = handlers.configuration
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: APIErrorMiddleware(maxRequestBodyBytes: configuration.limits.maxRequestBodyBytes, logger: logger))
        if !configuration.apiKeys.isEmpty {
            router.add(
                middleware: BearerAuthMiddleware(
                    keys: Set(configuration.apiKeys),
                    protects: BearerAuthMiddleware<BasicRequestContext>.protectedPath(
                        metricsPublic: configuration.metricsPublic)))
        }
        let routeTable = RouteTable()
        router.add(middleware: MethodMiddleware(routes: routeTable))
        try APIRoutes(handlers: handlers).register(on: router)
        MetricsRoute(runtime: handlers.runtime, limiter: limiter, configuration: configuration).register(on: router)
        let routes = router.routes.map { RegisteredRoute(method: $0.method.rawValue, path: $0.path.description) }.sorted()
        routeTable.set(routes)
        return (router, routes)
    }
}
