import Crypto
import Foundation
import SwiftASN1
import TetherEngine
import X509

/// Self-signed TLS material for development and for clusters that run their own small CA.
///
/// Generates a CA (ECDSA P-256, valid 10 years, `CA:true`, `keyCertSign`) and a server
/// certificate it signs (P-256, valid 825 days, `CA:false`, `serverAuth`) whose subject
/// alternative names are `localhost`, `127.0.0.1`, `::1` and any names given. Workers trust
/// the CA (`TETHER_CA_FILE`). Private keys are written with mode 0600.
public enum DevCertificates {
    /// How long a generated CA is valid: 10 years.
    public static let caValidityDays = 3_650
    /// How long a server certificate is valid: 825 days, the most clients accept.
    public static let serverValidityDays = 825
    /// DNS names every server certificate carries.
    public static let defaultHostnames = ["localhost"]
    /// IP addresses every server certificate carries.
    public static let defaultIPAddresses = ["127.0.0.1", "::1"]

    /// Generates the CA and the server certificate into `directory` (created if missing).
    ///
    /// - If the CA certificate, server certificate and server key all exist and `overwrite` is
    ///   false, nothing is written and the paths are returned.
    /// - Otherwise a new server certificate and key are issued. An existing CA (`ca.pem` with
    ///   `ca-key.pem`) is reused, so workers that trust it keep working, unless
    ///   `newCertificateAuthority` is true; then a new CA is generated.
    /// - Without `overwrite`, no existing file is ever replaced: a partial set (say `server.pem`
    ///   without its key) is an error rather than silently clobbered.
    ///
    /// - Parameters:
    ///   - hostnames: Extra DNS names for the server certificate (an IP address given here is
    ///     added as an IP address).
    ///   - ipAddresses: Extra IPv4 or IPv6 addresses for the server certificate.
    /// - Throws: ``TetherEngine/TetherError`` with code `invalid_input` for a bad name, address or
    ///   existing file, or `io_error` naming the path that could not be written.
    @discardableResult
    public static func generate(
        into directory: String,
        hostnames: [String] = [],
        ipAddresses: [String] = [],
        overwrite: Bool = false,
        newCertificateAuthority: Bool = false
    ) throws -> TLSFiles {
        let names = try SubjectNames(hostnames: Self.defaultHostnames + hostnames, ipAddresses: Self.defaultIPAddresses + ipAddresses)
        let files = TLSFiles(directory: directory)
        if !overwrite && !newCertificateAuthority && files.servingFilesExist {
            return files
        }
        let reuseAuthority = !newCertificateAuthority && SecureFile.exists(files.caCertificatePath)
        if reuseAuthority && !SecureFile.exists(files.caKeyPath) {
            throw TetherError(
                .invalidInput,
                "\(files.caCertificatePath) exists but its key \(files.caKeyPath) does not, so no server "
                    + "certificate can be issued from it; provide the key, or generate a new CA"
            )
        }
        let targets = [files.serverKeyPath, files.serverCertificatePath]
            + (reuseAuthority ? [] : [files.caKeyPath, files.caCertificatePath])
        if !overwrite, let existing = targets.first(where: SecureFile.exists) {
            throw TetherError(
                .invalidInput,
                "\(existing) already exists and would be replaced; generate with overwrite to replace it"
            )
        }
        try SecureFile.createDirectory(directory)
        let now = Date()
        let authority: Authority
        if reuseAuthority {
            authority = try Authority(loadingFrom: files)
        } else {
            authority = try Authority(generatingAt: now)
            try SecureFile.write(try authority.privateKey.serializeAsPEM().pemString + "\n", to: files.caKeyPath, mode: 0o600)
            try SecureFile.write(try authority.certificate.serializeAsPEM().pemString + "\n", to: files.caCertificatePath, mode: 0o644)
        }
        let serverKey = P256.Signing.PrivateKey()
        let serverCertificate = try authority.issueServerCertificate(
            publicKey: Certificate.PrivateKey(serverKey).publicKey,
            names: names,
            now: now
        )
        // The key first: a certificate without its key is useless, a stray key is harmless.
        try SecureFile.write(serverKey.pemRepresentation + "\n", to: files.serverKeyPath, mode: 0o600)
        try SecureFile.write(try serverCertificate.serializeAsPEM().pemString + "\n", to: files.serverCertificatePath, mode: 0o644)
        return files
    }

    /// Whether the PEM certificate at `path` names `host` (a DNS name, or an IPv4 or IPv6
    /// address) among its subject alternative names: whether a client reaching it as `host` can
    /// check it (`tether dev --https` serves the dev server certificate on the HTTP port).
    ///
    /// - Throws: ``TetherEngine/TetherError`` naming the file when it cannot be read or parsed.
    public static func certificate(at path: String, names host: String) throws -> Bool {
        let pem = try SecureFile.read(path, what: "server certificate")
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: pem)
        } catch {
            throw TetherError(.invalidInput, "\(path) is not a PEM certificate: \(error)")
        }
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return false }
        if let address = SubjectNames.parseIPAddress(host) {
            return names.contains { name in
                if case .ipAddress(let octets) = name { return Array(octets.bytes) == address }
                return false
            }
        }
        return names.contains { name in
            if case .dnsName(let dnsName) = name { return dnsName.lowercased() == host.lowercased() }
            return false
        }
    }

    /// Returns the TLS files in `directory`, generating them first if any is missing
    /// (what `tether dev` does on its first start).
    @discardableResult
    public static func ensure(in directory: String) throws -> TLSFiles {
        try self.generate(into: directory)
    }
}

/// A CA certificate with its private key.
private struct Authority {
    var certificate: Certificate
    var privateKey: Certificate.PrivateKey

    init(generatingAt now: Date) throws {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName {
            OrganizationName("Tether")
            CommonName("Tether Development CA")
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        self.certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3_600),
            notValidAfter: now.addingTimeInterval(TimeInterval(DevCertificates.caValidityDays) * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: key
        )
        self.privateKey = key
    }

    init(loadingFrom files: TLSFiles) throws {
        let certificatePEM = try SecureFile.read(files.caCertificatePath, what: "CA certificate")
        let keyPEM = try SecureFile.read(files.caKeyPath, what: "CA key")
        do {
            self.certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw TetherError(.invalidInput, "\(files.caCertificatePath) is not a PEM certificate: \(error)")
        }
        do {
            self.privateKey = try Certificate.PrivateKey(pemEncoded: keyPEM)
        } catch {
            throw TetherError(.invalidInput, "\(files.caKeyPath) is not a PEM private key: \(error)")
        }
        guard self.privateKey.publicKey == self.certificate.publicKey else {
            throw TetherError(.invalidInput, "\(files.caKeyPath) is not the key of \(files.caCertificatePath)")
        }
    }

    func issueServerCertificate(publicKey: Certificate.PublicKey, names: SubjectNames, now: Date) throws -> Certificate {
        let subject = try DistinguishedName {
            OrganizationName("Tether")
            CommonName(names.dnsNames.first ?? "localhost")
        }
        let authorityKeyIdentifier = try? self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectKeyIdentifier(hash: publicKey)
            AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier ?? SubjectKeyIdentifier(hash: self.privateKey.publicKey).keyIdentifier)
            SubjectAlternativeNames(names.generalNames)
        }
        let requestedEnd = now.addingTimeInterval(TimeInterval(DevCertificates.serverValidityDays) * 86_400)
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3_600),
            notValidAfter: min(requestedEnd, self.certificate.notValidAfter),
            issuer: self.certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: self.privateKey
        )
    }
}
