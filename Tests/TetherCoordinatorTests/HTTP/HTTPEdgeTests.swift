import Foundation
import HTTPTypes
import Hummingbird
import OpenAPIRuntime
import Testing
import TetherAPI
import TetherStore

@testable import TetherCoordinator
@testable import TetherEngine

@Suite("HTTP edges: methods, query parameters, times, nulls and what is logged")
struct HTTPEdgeTests {
    @Test("a concrete path finds the methods of the templates it matches, and only those")
    func routeTable() {
        let table = RouteTable()
        table.set([
            RegisteredRoute(method: "GET", path: "/v1/runs"), RegisteredRoute(method: "GET", path: "/v1/runs/{id}"),
            RegisteredRoute(method: "POST", path: "/v1/runs/{id}/cancel"),
            RegisteredRoute(method: "POST", path: "/v1/events"),
        ])
        #expect(table.methods(at: "/v1/runs") == ["GET"])
        #expect(table.methods(at: "/v1/runs/01ABC") == ["GET"])
        #expect(table.methods(at: "/v1/runs/01ABC/cancel") == ["POST"])
        #expect(table.methods(at: "/v1/events") == ["POST"])
        #expect(table.methods(at: "/v1/runs/a/b").isEmpty)
        #expect(table.methods(at: "/v1/nope").isEmpty)
        #expect(table.methods(at: "/").isEmpty)
    }

    @Test("query parameters: empty, signed, non-digit and unknown enum values are refused with their name")
    func strictQuery() {
        func problem(_ path: String) -> String? {
            do {
                try EventBodyMiddleware.checkQuery(path, integers: ["limit"], enums: ["status": ["queued", "running"]])
                return nil
            } catch {
                #expect(error.code == .invalid_input)
                return error.message
            }
        }
        #expect(problem("/v1/runs") == nil)
        #expect(problem("/v1/runs?limit=5&status=queued&function=shop%3Aa") == nil)
        #expect(problem("/v1/runs?limit=")?.contains("'limit' is empty") == true)
        #expect(problem("/v1/runs?function=")?.contains("'function' is empty") == true)
        #expect(problem("/v1/runs?limit=+5")?.contains("digits only") == true)
        #expect(problem("/v1/runs?limit=-1")?.contains("digits only") == true)
        #expect(problem("/v1/runs?limit=5x")?.contains("digits only") == true)
        #expect(problem("/v1/runs?status=nope")?.contains("expected one of queued, running") == true)
        #expect(problem("/v1/runs?status")?.contains("'status' is empty") == true)
    }

    @Test("API times: three fractional digits, exact milliseconds both ways, offsets and bad text")
    func timestamps() throws {
        #expect(APITimestamp.format(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(APITimestamp.format(milliseconds: 1_795_000_020_123) == "2026-11-18T11:07:00.123Z")
        #expect(APITimestamp.format(milliseconds: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(APITimestamp.format(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        var random = SystemRandomNumberGenerator()
        let transcoder = APIDateTranscoder()
        for _ in 0..<2_000 {
            let milliseconds = Int64.random(in: 0...253_402_300_799_999, using: &random)
            let text = APITimestamp.format(milliseconds: milliseconds)
            #expect(APITimestamp.parse(text) == milliseconds, "\(text)")
            let date = try transcoder.decode(text)
            #expect(try transcoder.encode(date) == text)
        }
        #expect(APITimestamp.parse("2026-11-18T11:07:00Z") == 1_795_000_020_000)
        #expect(APITimestamp.parse("2026-11-18T12:07:00.1234+01:00") == 1_795_000_020_123)
        #expect(APITimestamp.parse("2026-11-18T11:07:00.5Z") == 1_795_000_020_500)
        for bad in ["", "2026-11-18", "2026-13-01T00:00:00Z", "2026-11-18T09:47:00", "2026-11-18T09:47:00.Z", "x"] {
            #expect(APITimestamp.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("a nullable field encodes null, not nothing, and decodes both ways")
    func nullable() throws {
        struct Holder: Codable { var at: Nullable<String>; var other: Nullable<Int64> }
        let encoder = APIEncoding.encoder()
        let text = String(decoding: try encoder.encode(Holder(at: nil, other: Nullable(5))), as: UTF8.self)
        #expect(text == #"{"at":null,"other":5}"#)
        let decoded = try JSONDecoder().decode(Holder.self, from: Data(#"{"at":"x","other":null}"#.utf8))
        #expect(decoded.at.value == "x")
        #expect(decoded.other.value == nil)
    }

    @Test("a generated operation's error is logged without the request it carries (its API key)")
    func loggedErrors() {
        var request = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/v1/events")
        request.headerFields[.authorization] = "Bearer secret-key"
        let error = ServerError(
            operationID: "sendEvents", request: request, requestBody: nil, requestMetadata: .init(),
            causeDescription: "middleware failed", underlyingError: StoreError.closed("the database"))
        #expect("\(error)".contains("secret-key"), "the runtime's own description holds the header")
        let logged = APIErrorMiddleware<BasicRequestContext>.loggable(error)
        #expect(!logged.contains("secret-key"))
        #expect(logged.hasPrefix("sendEvents: "))
        let answer = APIErrorMiddleware<BasicRequestContext>.apiError(for: error, maxRequestBodyBytes: 1)
        #expect(answer.code == .storage_unavailable)
    }

    @Test("every engine status, step kind and flow outcome has its value in the generated types")
    func enumsCovered() {
        for status in RunStatus.allCases {
            #expect(Components.Schemas.RunStatus(rawValue: status.rawValue) != nil, "\(status)")
        }
        for status in StepStatus.allCases {
            #expect(Components.Schemas.StepStatus(rawValue: status.rawValue) != nil, "\(status)")
        }
        for kind in StepKind.allCases {
            #expect(Components.Schemas.StepKind(rawValue: kind.rawValue) != nil, "\(kind)")
        }
        for kind in FlowOutcome.Kind.allCases {
            let outcome = FlowOutcome(functionId: "a:b", kind: kind)
            let rendered = APIRendering.receipt(EventReceipt(eventId: "e", runIds: [], flow: [outcome]))
            let reason = rendered.skipped?.first?.reason.rawValue ?? rendered.deferred?.first?.reason.rawValue
            #expect(reason == kind.rawValue, "\(kind)")
        }
    }

    @Test("one mapping to HTTP: engine codes the API lists keep theirs, others are 500 internal; no code made from a status")
    func errorMapping() {
        let listed = APIError(TetherError(.invalidConfig, "bad trigger"))
        #expect(listed.status == .badRequest && listed.code == .invalid_input && listed.message == "bad trigger")
        let draining = APIError(TetherError(.draining, "stopping"))
        #expect(draining.status == .serviceUnavailable && draining.code == .draining)
        let stray = APIError(TetherError(.stepFailed, "a run's code has no place in an HTTP answer"))
        #expect(stray.status == .internalServerError && stray.code == ._internal)
        #expect(!stray.message.contains("run's code"))
        typealias Middleware = APIErrorMiddleware<BasicRequestContext>
        let statuses: [HTTPResponse.Status] = [
            .badRequest, .unauthorized, .notFound, .methodNotAllowed, .contentTooLarge, .uriTooLong,
            .requestHeaderFieldsTooLarge, .unsupportedMediaType, .requestTimeout, .internalServerError, .badGateway,
        ]
        for status in statuses {
            let code = Middleware.code(for: status)
            #expect(APIErrorCode(rawValue: code.rawValue) != nil)
            #expect((status.code >= 500) == (code == ._internal), "\(status)")
        }
        // A store failure keeps its cause for the log, out of the answer.
        let failure = TetherError(.storageUnavailable, "could not store", cause: StoreError.closed("/secret/path"))
        #expect(!failure.description.contains("/secret/path"))
        #expect(Middleware.loggable(failure).contains("/secret/path"))
        #expect(!APIError(failure).message.contains("/secret/path"))
    }
}
