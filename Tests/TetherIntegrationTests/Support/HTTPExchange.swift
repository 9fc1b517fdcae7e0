import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request and its answer, with the head (`TetherClient.Response` has no headers).
struct HTTPExchange: Sendable {
    var status: Int
    var contentType: String
    var headers: HTTPHeaders
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// Sends one request on a new connection (HTTPS trusting `tlsCAFile` when set) and reads the
    /// answer until its end, or until `enough` holds for the body so far (a stream). Fails after 10 s.
    static func send(
        port: Int, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, apiKey: String? = nil,
        headers extra: [(String, String)] = [], tlsCAFile: String? = nil,
        until enough: @escaping @Sendable ([UInt8]) -> Bool = { _ in false }
    ) async throws -> HTTPExchange {
        let channel = try await httpChannel(port: port, tlsCAFile: tlsCAFile)
        var headers: HTTPHeaders = ["Host": "127.0.0.1", "Connection": "close"]
        if let apiKey { headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        headers.add(contentsOf: extra)
        if let body {
            headers.add(name: "Content-Length", value: String(body.count))
            headers.add(name: "Content-Type", value: "application/json")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        return try await withThrowingTaskGroup(of: HTTPExchange.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(.head(head))
                    if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                    try await outbound.write(.end(nil))
                    var exchange = HTTPExchange(status: 0, contentType: "", headers: [:], body: [])
                    for try await part in inbound {
                        switch part {
                        case .head(let head):
                            exchange.status = Int(head.status.code)
                            exchange.contentType = head.headers.first(name: "content-type") ?? ""
                            exchange.headers = head.headers
                        case .body(let buffer):
                            exchange.body.append(contentsOf: buffer.readableBytesView)
                            if enough(exchange.body) { return exchange }
                        case .end:
                            return exchange
                        }
                    }
                    return exchange
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw TestFailure("\(method) \(path): no complete answer within 10 s")
            }
            let exchange = try await group.next()!
            group.cancelAll()
            return exchange
        }
    }
}
