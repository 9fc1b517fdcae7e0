import Hummingbird
import Synchronization

/// The routes a router serves, as (method, path template) pairs, filled in once every route is
/// registered; ``MethodMiddleware`` reads it.
final class RouteTable: Sendable {
    private let routes = Mutex<[RegisteredRoute]>([])

    func set(_ routes: [RegisteredRoute]) {
        self.routes.withLock { $0 = routes.sorted() }
    }

    var all: [RegisteredRoute] { routes.withLock { $0 } }

    /// The methods served at `path` (a concrete path: `{id}` in a template matches any one segment).
    func methods(at path: String) -> Set<String> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return Set(
            all.filter { route in
                let template = route.path.split(separator: "/", omittingEmptySubsequences: false)
                return template.count == segments.count
                    && zip(template, segments).allSatisfy { $0 == $1 || ($0.hasPrefix("{") && $0.hasSuffix("}")) }
            }.map(\.method))
    }
}

/// What HTTP says of a method a path does not serve: `405 method_not_allowed` with an `Allow`
/// header, where the path exists; an unknown path stays `404 not_found`. (`HEAD` is served
/// wherever `GET` is: the router's `autoGenerateHeadEndpoints`.) The router runs its middleware
/// around its not-found responder too, which is how this sees requests no route matched.
struct MethodMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(at: request.uri.path)
            guard !allowed.isEmpty else { throw error }
            let allow = (allowed.contains("GET") ? allowed.union(["HEAD"]) : allowed).sorted().joined(separator: ", ")
            throw APIError(
                .methodNotAllowed, .method_not_allowed, "\(request.method) is not served at \(request.uri.path); use \(allow)",
                headers: [.allow: allow])
        }
    }
}
