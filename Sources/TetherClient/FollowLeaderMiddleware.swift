import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Follows a cluster standby's `307 Temporary Redirect` to the leader, with the same method,
/// headers and body (the generated client's bodies can be sent again), at most three times:
/// a client pointed at any node of a cluster reaches the leader (docs/operations.md, "High
/// availability"). ``TetherClient`` turns AsyncHTTPClient's own redirects off (it would drop the
/// API key on a redirect to another origin, and not resend a body), so this follows them all.
struct FollowLeaderMiddleware: ClientMiddleware {
    static let maxRedirects = 3

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var base = baseURL
        var answer = try await next(request, body, base)
        var redirects = 0
        while answer.0.status.code == 307 || answer.0.status.code == 308, redirects < Self.maxRedirects,
            body == nil || body?.iterationBehavior == .multiple,
            let location = answer.0.headerFields[.location], let target = URLComponents(string: location),
            let host = target.host, let scheme = target.scheme, ["http", "https"].contains(scheme)
        {
            var leader = URLComponents()
            leader.scheme = scheme
            leader.host = host
            leader.port = target.port
            leader.path = baseURL.path
            guard let url = leader.url else { break }
            base = url
            redirects += 1
            answer = try await next(request, body, base)
        }
        return answer
    }
}
