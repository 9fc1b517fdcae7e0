import Foundation
import HTTPTypes
import OpenAPIRuntime
import TetherEngine

/// Runs before every generated `/v1` operation: reads the request body (at most the
/// operation's limit, else `413 payload_too_large`), and makes the HTTP framing what the
/// generated code expects of a JSON API that has always read its bodies as JSON:
///
/// - A body is JSON whatever its `Content-Type` says (`curl -d` sends
///   `application/x-www-form-urlencoded`), and every answer is JSON whatever `Accept` asks for.
/// - Query parameters are strict: one that is present must have a value (`limit=` is refused,
///   not taken as "no limit"), and integers are digits only (`limit=+5` is refused).
/// - `POST /v1/events` is parsed here by ``EventParsing``, which refuses duplicate keys and
///   keeps integers exact, with a message for each rule; the handler takes the events from
///   ``EventBodyMiddleware/parsedEvents``.
struct EventBodyMiddleware: ServerMiddleware {
    let limits: Limits

    /// The events of the `POST /v1/events` request being handled, parsed from its raw body.
    @TaskLocal static var parsedEvents: [IncomingEvent]?
    /// The request's W3C `traceparent` header (empty when absent, or longer than any valid one).
    @TaskLocal static var traceParent = ""

    /// What the generated decoding of `POST /v1/events` reads once the events are parsed.
    static let parsedPlaceholder = Array(#"{"name":"parsed"}"#.utf8)

    /// The largest body `POST /v1/admin/drain` reads.
    static let maxDrainBodyBytes = 4_096

    /// Integer query parameters, by operation.
    static let integerParameters: [String: Set<String>] = ["listRuns": ["limit"]]

    /// Query parameters with a closed set of values, by operation: refused with the list.
    static let enumParameters: [String: [String: [String]]] = [
        "listRuns": ["status": RunStatus.allCases.map(\.rawValue)]
    ]

    private static let traceParentField = HTTPField.Name("traceparent")!

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.accept] = nil
        try Self.checkQuery(
            request.path ?? "", integers: Self.integerParameters[operationID] ?? [],
            enums: Self.enumParameters[operationID] ?? [:])
        guard let body else {
            return try await next(request, nil, metadata)
        }
        let limit = operationID == "drain" ? Self.maxDrainBodyBytes : limits.maxRequestBodyBytes
        let bytes = try await Self.collect(body, upTo: limit)
        guard !bytes.isEmpty else {
            request.headerFields[.contentType] = nil
            return try await next(request, nil, metadata)
        }
        request.headerFields[.contentType] = "application/json"
        if operationID == "sendEvents" {
            let events = try EventParsing.parse(bytes, limits: limits)
            // The generated decoding gets a one-event placeholder instead of the body: the events
            // are already parsed, more strictly, and decoding up to 1,000 of them again with
            // Foundation cost about a tenth of the coordinator's CPU in `tether bench chain`.
            // The handler reads only `parsedEvents`, never its decoded input body.
            let traceParent = request.headerFields[Self.traceParentField].flatMap { $0.utf8.count <= 128 ? $0 : nil } ?? ""
            return try await Self.$parsedEvents.withValue(events) {
                try await Self.$traceParent.withValue(traceParent) {
                    try await next(request, HTTPBody(Self.parsedPlaceholder), metadata)
                }
            }
        }
        // Any other body must be JSON (the generated decoding then checks its shape).
        do {
            _ = try JSONValue(parsing: bytes)
        } catch {
            throw APIError(.badRequest, .invalid_json, "the body is not valid JSON: \(error.message)")
        }
        return try await next(request, HTTPBody(bytes), metadata)
    }

    /// The whole body, or `413 payload_too_large` as soon as it is known to be over `limit`.
    static func collect(_ body: HTTPBody, upTo limit: Int) async throws -> [UInt8] {
        func tooLarge() -> APIError {
            APIError(.contentTooLarge, .payload_too_large, "the request body is over the limit of \(limit) bytes")
        }
        if case .known(let length) = body.length, length > limit { throw tooLarge() }
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.count <= limit else { throw tooLarge() }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// Refuses an empty query parameter (`limit=`), an integer parameter with anything but
    /// digits (`limit=+5`, `limit=-1`), and a value outside a parameter's set (`status=nope`).
    static func checkQuery(_ path: String, integers: Set<String>, enums: [String: [String]]) throws(APIError) {
        guard let question = path.firstIndex(of: "?") else { return }
        for pair in path[path.index(after: question)...].split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? parts[1] : ""
            if value.isEmpty {
                throw APIError(.badRequest, .invalid_input, "query parameter '\(name)' is empty; leave it out instead")
            }
            if integers.contains(name), !value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                throw APIError(.badRequest, .invalid_input, "query parameter '\(name)' must be a whole number (digits only)")
            }
            if let allowed = enums[name] {
                let text = String(value).removingPercentEncoding ?? String(value)
                guard allowed.contains(text) else {
                    throw APIError(
                        .badRequest, .invalid_input,
                        "unknown \(name) '\(text)'; expected one of \(allowed.joined(separator: ", "))")
                }
            }
        }
    }
}

/// Admits `POST /v1/events` before its body is read: at most `maxPendingEventRequests` are in
/// progress at once, and more are answered `429 overloaded` with a `Retry-After` at once, so a
/// flood of requests holds memory only for those admitted (docs/operations.md, "Backpressure").
struct EventAdmissionMiddleware: ServerMiddleware {
    let runtime: CoordinatorRuntime

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == "sendEvents" else { return try await next(request, body, metadata) }
        return try await runtime.admitEventRequest { try await next(request, body, metadata) }
    }
}
