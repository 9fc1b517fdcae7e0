import Foundation
import NIOSSL
import TetherEngine

extension HTTPTLSFiles {
    /// The HTTP port's TLS server configuration: TLS 1.2 or later, HTTP/1.1 offered by ALPN.
    ///
    /// - Throws: ``TetherEngine/TetherError`` with code `invalid_input` naming the file that could
    ///   not be loaded, or both files when they do not make a TLS context (a key that is not the
    ///   certificate's).
    public func makeServerConfiguration() throws -> TLSConfiguration {
        for (what, path) in [("certificate", certificatePath), ("private key", privateKeyPath)]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw TetherError(
                .invalidInput,
                "cannot load the HTTPS \(what) \(path): \(FileManager.default.fileExists(atPath: path) ? "not readable" : "no such file")")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw TetherError(.invalidInput, "cannot load the HTTPS certificate \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else {
            throw TetherError(.invalidInput, "cannot load the HTTPS certificate \(certificatePath): no PEM certificate in it")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw TetherError(.invalidInput, "cannot load the HTTPS private key \(privateKeyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        // BoringSSL checks here that the key is the certificate's: refused at start, not per connection.
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TetherError(
                .invalidInput, "cannot serve HTTPS with \(certificatePath) and \(privateKeyPath) (is the key the certificate's?): \(error)")
        }
        return configuration
    }
}
