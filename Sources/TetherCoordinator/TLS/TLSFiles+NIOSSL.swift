import NIOSSL
import TetherEngine

extension TLSFiles {
    /// A TLS 1.3-only server configuration presenting the server certificate and key.
    ///
    /// - Throws: ``TetherEngine/TetherError`` with code `invalid_input` naming the file that
    ///   could not be loaded.
    public func makeServerConfiguration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(self.serverCertificatePath)
        } catch {
            throw TetherError(.invalidInput, "cannot load the server certificate \(self.serverCertificatePath): \(error)")
        }
        guard !chain.isEmpty else {
            throw TetherError(.invalidInput, "no certificate in \(self.serverCertificatePath)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: self.serverKeyPath, format: .pem)
        } catch {
            throw TetherError(.invalidInput, "cannot load the server key \(self.serverKeyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv13
        return configuration
    }
}
