import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOSSL
import OpenAPIRuntime
import Synchronization
import TetherEngine

/// Adds the API key to every request, and turns every error answer into a `TetherError` with
/// the API's code, so each typed method returns its success or throws one error type.
struct ClientErrorMiddleware: ClientMiddleware {
    let apiKey: String?

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        if let apiKey { request.headerFields[.authorization] = "Bearer \(apiKey)" }
        let (response, responseBody) = try await next(request, body, baseURL)
        guard response.status.code >= 400 else { return (response, responseBody) }
        var bytes: [UInt8] = []
        if let responseBody { bytes = try await [UInt8](collecting: responseBody, upTo: 1024 * 1024) }
        throw Self.apiError(status: response.status.code, body: bytes)
    }

    /// The error an answer with status 400 or more stands for: the API's code and message from
    /// its `{"error":{"code","message"}}` body, or `unavailable` when the body is not that (a
    /// proxy's error page, say).
    static func apiError(status: Int, body: [UInt8]) -> TetherError {
        if let error = (try? JSONValue(parsing: body))?["error"], let code = error["code"]?.stringValue {
            return TetherError(ErrorCode(code), "\(error["message"]?.stringValue ?? "") (HTTP \(status))")
        }
        return TetherError(
            .unavailable, "HTTP \(status) without the API's error body: \(String(decoding: body.prefix(200), as: UTF8.self))")
    }

    /// A failure to reach the coordinator or to hear back in time.
    static func transportError(_ error: HTTPClientError, url: String) -> TetherError {
        if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return TetherError(.timeout, "the coordinator at \(url) did not answer in time (\(error))")
        }
        if error == .remoteConnectionClosed, url.lowercased().hasPrefix("http:") {
            return TetherError(
                .unavailable,
                "the coordinator at \(url) closed the connection without an answer: \(error) "
                    + "(if it serves HTTPS, with httpTls or tether dev --https, use an https:// URL)")
        }
        return TetherError(.unavailable, "cannot reach the coordinator at \(url): \(error)")
    }

    /// A failure below HTTP: TLS that could not be agreed on, or an answer that is not HTTP. Nil
    /// for any other error. The two usual mistakes get a message of their own: an `https://` URL
    /// for a port that serves plain HTTP, and a certificate from a CA the client does not trust.
    static func connectionError(_ error: any Error, url: String) -> TetherError? {
        switch error {
        case let transport as HTTPClientError:
            return transportError(transport, url: url)
        case let tls as NIOSSLError:
            let text = String(describing: tls)
            if text.contains("WRONG_VERSION_NUMBER") {
                return TetherError(
                    .unavailable,
                    "the coordinator at \(url) did not answer TLS: its HTTP port serves plain HTTP (use an http:// URL, "
                        + "or serve HTTPS with httpTls or tether dev --https): \(text)")
            }
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return TetherError(
                    .unavailable,
                    "the coordinator at \(url) presented a certificate this client does not trust: set TETHER_CA_FILE "
                        + "(TetherClient's caCertificateFile) to the PEM of the CA that issued it: \(text)")
            }
            return TetherError(.unavailable, "TLS with the coordinator at \(url) failed: \(text)")
        case let parse as HTTPParserError:
            let hint = url.lowercased().hasPrefix("http:") ? " (if it serves HTTPS, use an https:// URL)" : ""
            return TetherError(.unavailable, "the coordinator at \(url) did not answer HTTP: \(parse)\(hint)")
        default:
            return nil
        }
    }
}

extension TetherClient {
    /// Runs a generated call, rethrowing the `TetherError` inside the generated client's
    /// `ClientError`, or one for a transport failure.
    func call<Output>(_ body: () async throws -> Output) async throws -> Output {
        do {
            return try await body()
        } catch let error as ClientError {
            switch error.underlyingError {
            case let tether as TetherError: throw tether
            default:
                if let connection = ClientErrorMiddleware.connectionError(error.underlyingError, url: url.absoluteString) {
                    throw connection
                }
                throw TetherError(.unavailable, "\(error.causeDescription): \(error.underlyingError)")
            }
        }
    }

    /// The HTTP client for a CA file (nil: the system's roots), one per process: an
    /// AsyncHTTPClient client must be shut down before it is released, so these live as long as
    /// the process, like `HTTPClient.shared`.
    static func httpClient(caCertificateFile: String?, secure: Bool, configuration: HTTPClient.Configuration) -> HTTPClient {
        // One client per CA file (and one without) and scheme, kept for the process: not
        // `HTTPClient.shared`, which follows redirects itself and drops the API key on the way to the leader.
        let key = (secure ? "https:" : "http:") + (caCertificateFile ?? "")
        return clients.withLock { clients in
            if let client = clients[key] { return client }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[key] = client
            return client
        }
    }

    private static let clients = Mutex<[String: HTTPClient]>([:])
}
