/// The certificate and key the HTTP port serves HTTPS with (`httpTls` in `tether serve`'s file,
/// the dev CA's server certificate with `tether dev --https`). With them the port (API,
/// dashboard, `/metrics`, `/healthz`, `/readyz`) speaks TLS 1.2 or later only: HTTP and HTTPS
/// never share a port.
public struct HTTPTLSFiles: Sendable, Hashable {
    /// PEM certificate chain, the server's certificate first.
    public var certificatePath: String
    /// PEM private key of that certificate.
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}
