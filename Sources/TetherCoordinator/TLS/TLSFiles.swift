import Foundation

/// Where the coordinator's TLS material lives: PEM files with fixed names in one directory.
///
/// `tether dev` keeps them in `.tether/tls/`. Workers trust ``caCertificatePath``
/// (`TETHER_CA_FILE`); the coordinator serves ``serverCertificatePath`` with ``serverKeyPath``.
public struct TLSFiles: Sendable, Hashable {
    /// File name of the CA certificate.
    public static let caCertificateFileName = "ca.pem"
    /// File name of the CA private key (kept so that more certificates can be issued later).
    public static let caKeyFileName = "ca-key.pem"
    /// File name of the server certificate.
    public static let serverCertificateFileName = "server.pem"
    /// File name of the server private key.
    public static let serverKeyFileName = "server-key.pem"

    /// The directory holding the files.
    public var directory: String
    /// The CA certificate workers trust (`ca.pem`).
    public var caCertificatePath: String
    /// The CA private key (`ca-key.pem`, mode 0600).
    public var caKeyPath: String
    /// The server certificate the coordinator presents (`server.pem`).
    public var serverCertificatePath: String
    /// The server private key (`server-key.pem`, mode 0600).
    public var serverKeyPath: String

    /// The standard file names inside `directory`.
    public init(directory: String) {
        let base = URL(fileURLWithPath: directory, isDirectory: true)
        self.directory = directory
        self.caCertificatePath = base.appendingPathComponent(Self.caCertificateFileName).path
        self.caKeyPath = base.appendingPathComponent(Self.caKeyFileName).path
        self.serverCertificatePath = base.appendingPathComponent(Self.serverCertificateFileName).path
        self.serverKeyPath = base.appendingPathComponent(Self.serverKeyFileName).path
    }

    /// Whether the files the coordinator and its workers need (CA certificate, server
    /// certificate and server key) all exist.
    public var servingFilesExist: Bool {
        [self.caCertificatePath, self.serverCertificatePath, self.serverKeyPath].allSatisfy {
            FileManager.default.fileExists(atPath: $0)
        }
    }
}
