import Hummingbird
import HummingbirdCore
import HummingbirdTLS

extension HTTPServerBuilder {
    /// `base` as it is, or behind TLS when `tls` is set: the HTTP port serves plain HTTP or HTTPS,
    /// never both. The certificate and key are loaded here, so a bad one stops the start.
    static func serving(_ base: HTTPServerBuilder, tls: HTTPTLSFiles?) throws -> HTTPServerBuilder {
        guard let tls else { return base }
        return try .tls(base, tlsConfiguration: tls.makeServerConfiguration())
    }
}

extension CoordinatorConfiguration {
    /// `https` with ``httpTLS``, else `http`: the scheme of this node's HTTP address.
    public var httpScheme: String { httpTLS == nil ? "http" : "https" }
}
