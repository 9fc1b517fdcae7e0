import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1.1 child channel with ``HTTPEdgeHandler`` in its pipeline, right after
/// NIO's request decoder: what the HTTP layer below the router gets wrong for this API.
struct HTTPEdgeChannel: ServerChildChannel {
    let inner: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(HTTPEdgeHandler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }

    /// The server for `Application(server:)`.
    static func builder() -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            HTTPEdgeChannel(inner: HTTP1Channel(responder: responder))
        }
    }
}

/// Between NIO's HTTP/1 decoder and the rest of the pipeline:
///
/// - An HTTP/1.0 request without `Connection: keep-alive` is marked `Connection: close`, so the
///   connection closes after its answer (HTTP/1.0's default). Bytes a client sends after it are
///   ignored, as HTTP/1.0 says, instead of being refused.
/// - A request the decoder cannot parse (an unknown method, a request line or header over the
///   limits, too many headers) between requests gets the API's JSON `400 invalid_input` body with
///   `Connection: close` instead of a bare status; then the connection closes. An error inside a
///   request (a broken chunk size) goes on to that request's handler, which answers it.
final class HTTPEdgeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Requests read whose answer has not ended yet.
    private var unanswered = 0
    /// Reading stopped: a parse error, or the end of an HTTP/1.0 exchange.
    private var stopped = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        unanswered += 1
        if head.version.major == 1, head.version.minor == 0, !head.isKeepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        context.write(data, promise: promise)
        if case .end = part { unanswered = max(0, unanswered - 1) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !stopped else { return }
        stopped = true
        // Bytes after an HTTP/1.0 request that asked to close: the answer is on its way and the
        // connection closes after it.
        if parseError == .closedConnection { return }
        if unanswered == 0 {
            answer(parseError, context: context)
        } else {
            // A request is being read or answered: its handler gets the error (a body that
            // breaks its chunked framing is `400 invalid_input` from the router's middleware).
            context.fireErrorCaught(error)
        }
    }

    private func answer(_ error: HTTPParserError, context: ChannelHandlerContext) {
        let body = Array(#"{"error":{"code":"invalid_input","message":"malformed HTTP request: \#(error)"}}"#.utf8) + [10]
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json; charset=utf-8")
        headers.add(name: "content-length", value: String(body.count))
        headers.add(name: "connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        // Close our side only, then the whole connection a moment later: closing at once with the
        // client's unread bytes still buffered would reset the connection (RST), and the client
        // could lose the answer before reading it.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        }
    }
}
