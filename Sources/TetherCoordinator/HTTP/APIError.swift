import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import OpenAPIRuntime
import TetherAPI
import TetherEngine
import TetherStore

/// The codes an HTTP answer can carry: exactly `ErrorCode` of `openapi.yaml`, generated from it,
/// so the server cannot send a code the document does not list.
typealias APIErrorCode = Components.Schemas.ErrorCode

/// An HTTP API error, rendered as `{"error":{"code":"…","message":"…"}}` (contract).
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var code: APIErrorCode
    var message: String
    /// Headers the answer carries besides its JSON body (`Allow` of a `405`).
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: APIErrorCode, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// The message of every `500 internal`: what went wrong is in the log, not in the answer.
    static let internalMessage = "internal error; the coordinator's log has the details"

    /// The one mapping from the engine's errors to HTTP answers. An engine code the HTTP API does
    /// not list (a wire or run code reaching a route by mistake) is `500 internal`, never a new code.
    init(_ error: TetherError) {
        let (status, code) = Self.answer(for: error.code)
        self.init(status, code, code == ._internal ? Self.internalMessage : error.message)
        if code == .overloaded {
            headers[.retryAfter] = "\(Self.overloadedRetryAfterSeconds)"
        }
    }

    /// The `Retry-After` of a `429 overloaded`, in seconds: a bound is reached for a moment
    /// (requests in progress, the store's backlog), not for long.
    static let overloadedRetryAfterSeconds = 1

    static func answer(for code: ErrorCode) -> (HTTPResponse.Status, APIErrorCode) {
        switch code {
        case .invalidInput, .invalidConfig: (.badRequest, .invalid_input)
        case .invalidJSON: (.badRequest, .invalid_json)
        case .unauthenticated: (.unauthorized, .unauthenticated)
        case .notFound, .functionNotFound: (.notFound, .not_found)
        case .conflict: (.conflict, .conflict)
        case .methodNotAllowed: (.methodNotAllowed, .method_not_allowed)
        case .payloadTooLarge: (.contentTooLarge, .payload_too_large)
        case .storageUnavailable: (.serviceUnavailable, .storage_unavailable)
        case .draining: (.serviceUnavailable, .draining)
        case .overloaded: (.tooManyRequests, .overloaded)
        default: (.internalServerError, ._internal)
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: JSONValue = ["error": ["code": .string(code.rawValue), "message": .string(message)]]
        var response = JSONResponse.make(body, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}

/// JSON responses built from ``JSONValue``.
enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes = value.serialized()
        bytes.append(UInt8(ascii: "\n"))
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Turns unknown routes and unexpected errors into the API's JSON error body: every error
/// answer has it, including a store failure (`503 storage_unavailable`) and any other error
/// (`500 internal`), never a bare status.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The body limit, for the message of a `413`.
    let maxRequestBodyBytes: Int
    /// Where the details of a store failure or an unexpected error go: the answer itself names
    /// neither files nor internals (under `tether dev` it is readable without a key).
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let answer = Self.apiError(for: error, maxRequestBodyBytes: maxRequestBodyBytes)
            if answer.status.code >= 500 {
                logger.error(
                    "HTTP request failed",
                    metadata: ["path": "\(request.uri.path)", "code": "\(answer.code)", "error": "\(Self.loggable(error))"])
            }
            throw answer
        }
    }

    /// What to log of an error: for a generated operation's `ServerError`, only the error inside
    /// it, since its description holds the whole request, headers (the API key) included.
    static func loggable(_ error: any Error) -> String {
        switch error {
        case let error as ServerError: "\(error.operationID): \(loggable(error.underlyingError))"
        case let error as TetherError: error.logDescription
        default: "\(error)"
        }
    }

    /// The answer to an error a route threw.
    static func apiError(for error: any Error, maxRequestBodyBytes: Int) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as TetherError:
            return APIError(error)
        case let error as StoreError:
            return APIError(
                .serviceUnavailable, .storage_unavailable,
                "the coordinator's store failed (\(error.code)); the coordinator's log has the details")
        case let error as ServerError:
            return apiError(for: error, maxRequestBodyBytes: maxRequestBodyBytes)
        case let error as HTTPParserError:
            // The body broke HTTP's framing while it was read (a malformed or oversized chunk size).
            return APIError(.badRequest, .invalid_input, "malformed HTTP request body: \(error)")
        case is NIOTooManyBytesError:
            return APIError(
                .contentTooLarge, .payload_too_large, "the request body is over the limit of \(maxRequestBodyBytes) bytes")
        case let error as HTTPError:
            return APIError(error.status, code(for: error.status), error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            return APIError(error.status, code(for: error.status), error.status.reasonPhrase)
        default:
            return APIError(.internalServerError, ._internal, APIError.internalMessage)
        }
    }

    /// The answer to an error of a generated operation: the answer to the error inside it (what
    /// the handler or a middleware threw), unless the runtime refused a request that does not fit
    /// `openapi.yaml` (a missing or mistyped parameter or body field): `400 invalid_input`.
    static func apiError(for error: ServerError, maxRequestBodyBytes: Int) -> APIError {
        if let decoding = error.underlyingError as? DecodingError {
            // `EventBodyMiddleware` has already refused a body that is not JSON.
            return APIError(.badRequest, .invalid_input, "the request does not fit the API: \(Self.describe(decoding))")
        }
        let answer = apiError(for: error.underlyingError, maxRequestBodyBytes: maxRequestBodyBytes)
        if answer.code == ._internal, (400..<500).contains(error.httpStatus.code) {
            return APIError(.badRequest, .invalid_input, "\(error.causeDescription): \(error.underlyingError)")
        }
        return answer
    }

    /// A decoding error as `field.path: what was wrong`.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the body" : codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// The code of an error the server framework raised with this status: one of the document's
    /// codes, never one made from the number.
    static func code(for status: HTTPResponse.Status) -> APIErrorCode {
        switch status {
        case .notFound: .not_found
        case .methodNotAllowed: .method_not_allowed
        case .contentTooLarge, .requestHeaderFieldsTooLarge, .uriTooLong: .payload_too_large
        case .unauthorized: .unauthenticated
        default: status.code < 500 ? .invalid_input : ._internal
        }
    }
}
