import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TetherEngine

/// A small client of the coordinator's HTTP API: send events and read runs from Swift.
///
/// ```swift
/// let client = try TetherClient(url: "http://127.0.0.1:7420")
/// let response = try await client.request(.POST, "/v1/events", body: Array(#"{"name":"order/created","data":{}}"#.utf8))
/// ```
public struct TetherClient: Sendable {
    public let host: String
    public let port: Int
    public let basePath: String
    public let apiKey: String?

    /// A client of the coordinator at `url` (`http://host:port[/base]`), sending `apiKey` as a bearer token if set.
    public init(url: String = "http://127.0.0.1:7420", apiKey: String? = nil) throws(TetherError) {
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host,
            !host.isEmpty
        else {
            throw TetherError(
                .invalidInput, "the URL must look like http://127.0.0.1:7420, got '\(url)' (for https, put a TLS proxy in front)")
        }
        self.host = host
        self.port = components.port ?? 80
        self.basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        self.apiKey = apiKey
    }

    /// An HTTP response: status and body.
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]

        /// The body parsed as JSON, if it is.
        public var json: JSONValue? { try? JSONValue(parsing: body) }
        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends one request (`path` is relative to the base URL, e.g. `/v1/runs?limit=5`).
    public func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> Response {
        let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Response.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw TetherError(.unavailable, "cannot reach the coordinator at http://\(host):\(port): \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: basePath + path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Accept", value: "application/json")
        if let apiKey { head.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    /// Sends one event and returns its id and the runs it started.
    public func send(_ name: String, data: JSONValue = [:], id: String? = nil) async throws -> (eventId: String, runIds: [String]) {
        var event: [String: JSONValue] = ["name": .string(name), "data": data]
        if let id { event["id"] = .string(id) }
        let response = try await request(.POST, "/v1/events", body: JSONValue.object(event).serialized())
        try response.throwIfError()
        guard let receipt = response.json?["events"]?[0], let eventId = receipt["id"]?.stringValue else {
            throw TetherError(.internalError, "unexpected answer from the coordinator: \(response.text)")
        }
        return (eventId, (receipt["runs"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    private final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<Response>
        var status = 0
        var body: [UInt8] = []

        init(promise: EventLoopPromise<Response>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body(var buffer): body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .end: promise.succeed(Response(status: status, body: body))
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(TetherError(.unavailable, "the coordinator closed the connection before answering"))
        }
    }
}


extension TetherClient.Response {
    /// Throws the API's error (`{"error":{"code","message"}}`) for a 4xx/5xx status.
    public func throwIfError() throws(TetherError) {
        guard status >= 400 else { return }
        if let error = json?["error"], let code = error["code"]?.stringValue {
            throw TetherError(ErrorCode(code), "\(error["message"]?.stringValue ?? "") (HTTP \(status))")
        }
        throw TetherError(ErrorCode("http_\(status)"), text)
    }
}
