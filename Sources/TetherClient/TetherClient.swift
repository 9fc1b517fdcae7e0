import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOSSL
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime
@_exported import TetherAPI
@_exported import TetherEngine

/// A client of the coordinator's HTTP API, generated from its `openapi.yaml` and sent with
/// AsyncHTTPClient: send events, read, list, cancel and wait for runs, read the status, the
/// functions, the workers and the node's cluster role, drain, create and list backups.
///
/// ```swift
/// let client = try TetherClient(url: "http://127.0.0.1:7420")
/// let (_, runIds) = try await client.send("order/created", data: ["orderId": "o-1"])
/// let run = try await client.waitForRun(runIds[0], timeout: .seconds(30))
/// print(run.status, run.output)
/// ```
///
/// Every method throws a `TetherError` with the API's error code (`not_found`,
/// `unauthenticated`, …) for an error answer, `unavailable` when the coordinator cannot be
/// reached, and `timeout` when it does not answer within the client's timeout.
public struct TetherClient: Sendable {
    /// The coordinator's base URL, `http://host:port` or `https://host:port`, with any base path.
    public let url: URL
    public let apiKey: String?
    /// The longest a request may take.
    public let timeout: Duration

    let http: HTTPClient
    let client: Client

    /// A client of the coordinator at `url` (`http://host:port[/base]`, or `https://…` for a
    /// coordinator serving HTTPS itself or behind a TLS proxy or load balancer), sending `apiKey`
    /// as a bearer token if set. `caCertificateFile` (PEM) is trusted for `https` besides the
    /// system's roots.
    public init(
        url: String = "http://127.0.0.1:7420", apiKey: String? = nil, timeout: Duration = .seconds(30),
        caCertificateFile: String? = nil
    ) throws(TetherError) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
            parsed.host?.isEmpty == false
        else {
            throw TetherError(.invalidInput, "the URL must look like http://127.0.0.1:7420 or https://tether.example.com, got '\(url)'")
        }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5))
        // Redirects (a cluster standby's 307 to the leader) are followed here, with the API key and
        // the body; AsyncHTTPClient would drop the key on a redirect to another origin.
        configuration.redirectConfiguration = .disallow
        // A TLS handshake that failed (a plain HTTP port, an untrusted certificate) fails the same
        // way again: over https, a connection that cannot be made fails the request at once
        // instead of being retried until the request's timeout.
        let secure = scheme.lowercased() == "https"
        configuration.connectionPool.retryConnectionEstablishment = !secure
        if let caCertificateFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caCertificateFile))]
            } catch {
                throw TetherError(.invalidInput, "cannot read the CA certificate \(caCertificateFile): \(error)")
            }
            configuration.tlsConfiguration = tls
        }
        self.url = parsed
        self.apiKey = apiKey
        self.timeout = timeout
        http = Self.httpClient(caCertificateFile: caCertificateFile, secure: secure, configuration: configuration)
        let milliseconds = Int64(timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        client = Client(
            serverURL: parsed, configuration: .tether,
            transport: AsyncHTTPClientTransport(configuration: .init(client: http, timeout: .milliseconds(milliseconds))),
            middlewares: [ClientErrorMiddleware(apiKey: apiKey), FollowLeaderMiddleware()])
    }

    // MARK: Events

    /// Sends one event and returns its id and the runs it started.
    public func send(_ name: String, data: JSONValue = [:], id: String? = nil) async throws -> (
        eventId: String, runIds: [String]
    ) {
        let receipts = try await send([Components.Schemas.EventInput(data: data, id: id, name: name)])
        guard let receipt = receipts.first else {
            throw TetherError(.internalError, "the coordinator answered without a receipt")
        }
        return (receipt.id, receipt.runs)
    }

    /// Sends up to 1,000 events in one request; one receipt per event, in order, once they are durable.
    public func send(_ events: [Components.Schemas.EventInput]) async throws -> [Components.Schemas.EventReceipt] {
        return try await call { try await client.sendEvents(body: .json(.case2(events))).ok.body.json.events }
    }

    // MARK: Runs

    /// One run with its event, output and steps.
    public func run(_ id: String) async throws -> Components.Schemas.Run {
        try await call { try await client.getRun(path: .init(id: id)).ok.body.json }
    }

    /// One page of runs, newest first; pass the page's `next` as `cursor` for the next one.
    public func runs(
        function: String? = nil, status: Components.Schemas.RunStatus? = nil, limit: Int? = nil, cursor: String? = nil
    ) async throws -> Components.Schemas.RunList {
        try await call {
            try await client.listRuns(query: .init(function: function, status: status, limit: limit, cursor: cursor)).ok.body.json
        }
    }

    /// Cancels an active run; `conflict` if it already ended.
    public func cancel(_ id: String) async throws -> Components.Schemas.Run {
        try await call { try await client.cancelRun(path: .init(id: id)).ok.body.json }
    }

    /// Polls a run until it has ended (`completed`, `failed` or `cancelled`) and returns it;
    /// `timeout` error if it has not within `timeout`.
    public func waitForRun(
        _ id: String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(100)
    ) async throws -> Components.Schemas.Run {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let run = try await run(id)
            if [.completed, .failed, .cancelled].contains(run.status) { return run }
            guard clock.now + interval < deadline else {
                throw TetherError(.timeout, "run \(id) is still \(run.status.rawValue) after \(timeout)")
            }
            try await Task.sleep(for: interval)
        }
    }

    // MARK: Coordinator

    /// Capacity, workers, queues and handshakes, as the dashboard shows them.
    public func status() async throws -> Components.Schemas.Status {
        try await call { try await client.getStatus().ok.body.json }
    }

    /// This node's role (`leader`, `standby` or `single`), the leader it knows of and how far its
    /// store is behind the journal (`GET /v1/cluster`). A standby answers it itself, so this is
    /// the view of the node at ``url``, while the other calls are redirected to the leader.
    public func cluster() async throws -> Components.Schemas.Cluster {
        try await call { try await client.getCluster().ok.body.json }
    }

    /// The registered functions with their configuration and the connections that serve them.
    public func functions() async throws -> [Components.Schemas.Function] {
        try await call { try await client.listFunctions().ok.body.json.functions }
    }

    /// The connected workers with their recent capacity and in-flight samples.
    public func workers() async throws -> Components.Schemas.WorkerList {
        try await call { try await client.listWorkers().ok.body.json }
    }

    /// Asks the coordinator to drain: every worker reconnects within the window, then it stops.
    public func drain(reconnectWithinMilliseconds: Int? = nil) async throws -> Components.Schemas.DrainResponse {
        let body: Operations.drain.Input.Body? = reconnectWithinMilliseconds.map { .json(.init(reconnectWithinMs: $0)) }
        return try await call { try await client.drain(body: body).accepted.body.json }
    }

    // MARK: Backups

    /// Backs up the coordinator's store into its backup directory (`POST /v1/admin/backups`) and
    /// returns the new backup's manifest once it is complete; `conflict` while another backup is
    /// being created. It reads the whole store: give the client a `timeout` to match.
    public func createBackup() async throws -> Components.Schemas.BackupManifest {
        try await call { try await client.createBackup().created.body.json }
    }

    /// The backups in the coordinator's backup directory, newest first (`GET /v1/admin/backups`).
    public func backups() async throws -> [Components.Schemas.BackupSummary] {
        try await call { try await client.listBackups().ok.body.json.backups }
    }

    // MARK: Any request

    /// An HTTP answer: status and body.
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]

        /// The body parsed as JSON, if it is.
        public var json: JSONValue? { try? JSONValue(parsing: body) }
        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends any request (`path` relative to the base URL, e.g. `/v1/runs?limit=5`) and returns
    /// the answer as it is, error statuses included: for what the typed methods do not cover.
    public func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> Response {
        let base = url.absoluteString.hasSuffix("/") ? String(url.absoluteString.dropLast()) : url.absoluteString
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            var response = try await http.execute(request, timeout: TimeAmount(timeout))
            var redirects = 0
            // A cluster standby's redirect to the leader: the same request there (FollowLeaderMiddleware).
            while [307, 308].contains(response.status.code), redirects < FollowLeaderMiddleware.maxRedirects,
                let location = response.headers.first(name: "Location"), let target = URLComponents(string: location),
                let scheme = target.scheme, ["http", "https"].contains(scheme), target.host != nil
            {
                redirects += 1
                request.url = location
                response = try await http.execute(request, timeout: TimeAmount(timeout))
            }
            var collected = try await response.body.collect(upTo: 64 * 1024 * 1024)
            return Response(status: Int(response.status.code), body: collected.readBytes(length: collected.readableBytes) ?? [])
        } catch {
            throw ClientErrorMiddleware.connectionError(error, url: base) ?? error
        }
    }
}

extension TetherClient {
    /// A value of the API as the coordinator encodes it: compact JSON, keys sorted, times as
    /// `2026-11-23T11:07:00.123Z`.
    public static func encode(_ value: some Encodable) throws -> Data {
        try APIEncoding.encoder().encode(value)
    }
}

extension TetherClient.Response {
    /// Throws the API's error (`{"error":{"code","message"}}`) for a 4xx/5xx status.
    public func throwIfError() throws(TetherError) {
        guard status >= 400 else { return }
        throw ClientErrorMiddleware.apiError(status: status, body: body)
    }
}
