import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwiftProtobuf
import Synchronization

/// A real OTLP/HTTP trace receiver on loopback: it takes `POST /v1/traces` in `http/protobuf`,
/// keeps every span it is sent (with its resource's `service.name`), and answers as a collector
/// does (200 with an empty `ExportTraceServiceResponse`). Anything else gets 404, and a body that
/// does not decode 400, both recorded in ``problems``.
final class OTLPReceiver: Sendable {
    struct ReceivedSpan: Sendable, CustomStringConvertible {
        var service: String
        var name: String
        var traceId: String
        var spanId: String
        var parentSpanId: String
        var kind: Tether_Test_Otlp_Span.SpanKind
        var startNanoseconds: UInt64
        var endNanoseconds: UInt64
        var attributes: [String: String]
        var isError: Bool
        var statusMessage: String

        var description: String {
            "\(service) \(name) trace=\(traceId.prefix(8)) span=\(spanId.prefix(8)) parent=\(parentSpanId.prefix(8))"
                + (isError ? " ERROR(\(statusMessage))" : "")
        }
    }

    private let channel: any Channel
    private let received = Mutex<(spans: [ReceivedSpan], problems: [String])>(([], []))

    var port: Int { channel.localAddress?.port ?? 0 }
    var spans: [ReceivedSpan] { received.withLock { $0.spans } }
    var problems: [String] { received.withLock { $0.problems } }

    private init(channel: any Channel) {
        self.channel = channel
    }

    static func start() async throws -> OTLPReceiver {
        let box = Mutex<OTLPReceiver?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(receiver: { box.withLock { $0 } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let receiver = OTLPReceiver(channel: channel)
        box.withLock { $0 = receiver }
        return receiver
    }

    func stop() async {
        try? await channel.close()
    }

    fileprivate func handle(method: HTTPMethod, uri: String, body: [UInt8]) -> HTTPResponseStatus {
        guard method == .POST, uri == "/v1/traces" else {
            received.withLock { $0.problems.append("\(method) \(uri)") }
            return .notFound
        }
        do {
            let request = try Tether_Test_Otlp_ExportTraceServiceRequest(serializedBytes: body)
            var spans: [ReceivedSpan] = []
            for resourceSpans in request.resourceSpans {
                let service = Self.attributes(resourceSpans.resource.attributes)["service.name"] ?? ""
                for scope in resourceSpans.scopeSpans {
                    for span in scope.spans {
                        spans.append(
                            ReceivedSpan(
                                service: service, name: span.name, traceId: Self.hex(span.traceID),
                                spanId: Self.hex(span.spanID), parentSpanId: Self.hex(span.parentSpanID), kind: span.kind,
                                startNanoseconds: span.startTimeUnixNano, endNanoseconds: span.endTimeUnixNano,
                                attributes: Self.attributes(span.attributes), isError: span.status.code == .error,
                                statusMessage: span.status.message))
                    }
                }
            }
            received.withLock { $0.spans.append(contentsOf: spans) }
            return .ok
        } catch {
            received.withLock { $0.problems.append("undecodable body of \(body.count) bytes: \(error)") }
            return .badRequest
        }
    }

    private static func hex(_ data: Data) -> String {
        data.map { String(format: "%02x", $0) }.joined()
    }

    private static func attributes(_ values: [Tether_Test_Otlp_KeyValue]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in values {
            switch pair.value.value {
            case .stringValue(let text): result[pair.key] = text
            case .boolValue(let flag): result[pair.key] = String(flag)
            case .intValue(let number): result[pair.key] = String(number)
            case .doubleValue(let number): result[pair.key] = String(number)
            case nil: result[pair.key] = ""
            }
        }
        return result
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let receiver: @Sendable () -> OTLPReceiver?
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(receiver: @escaping @Sendable () -> OTLPReceiver?) {
            self.receiver = receiver
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let status = receiver()?.handle(method: head.method, uri: head.uri, body: body) ?? .serviceUnavailable
                var headers = HTTPHeaders([("Content-Type", "application/x-protobuf"), ("Content-Length", "0")])
                if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
                let keepAlive = head.isKeepAlive
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if !keepAlive { context.close(promise: nil) }
                }
                self.head = nil
            }
        }
    }
}
