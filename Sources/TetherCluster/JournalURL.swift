import Foundation
import NIOSSL
import PostgresNIO

/// Where the journal lives: a `postgres://user:password@host:port/database?sslmode=…` URL, as
/// libpq and every PostgreSQL tool write it.
///
/// `sslmode` is `disable`, `prefer` (the default: TLS when the server offers it) or `require`
/// (refuse a server without TLS); `sslrootcert` names a PEM file of certificate authorities to
/// trust instead of the system's. The password is never printed (``redacted``).
public struct JournalURL: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String?
    public var tls: TLSMode
    public var rootCertificatePath: String?

    /// Parses `url`; throws ``ClusterError`` `invalidConfig` naming what is wrong.
    public init(_ url: String) throws(ClusterError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            ["postgres", "postgresql"].contains(scheme)
        else {
            throw ClusterError(.invalidConfig, "the journal must be a postgres://user:password@host:port/database URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ClusterError(.invalidConfig, "the journal URL names no host")
        }
        self.host = host
        self.port = components.port ?? 5432
        guard (1...65_535).contains(port) else {
            throw ClusterError(.invalidConfig, "the journal URL's port \(port) is out of range")
        }
        self.user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : path.removingPercentEncoding
        self.tls = .prefer
        self.rootCertificatePath = nil
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable", "allow": tls = .disable
                case "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw ClusterError(
                        .invalidConfig, "the journal URL's sslmode '\(item.value ?? "")' is not disable, prefer or require")
                }
            case "sslrootcert":
                rootCertificatePath = item.value
            default:
                throw ClusterError(.invalidConfig, "the journal URL's parameter '\(item.name)' is not known (sslmode, sslrootcert)")
            }
        }
    }

    /// The URL without its password, for logs and status.
    public var redacted: String {
        "postgres://\(user)@\(host):\(port)/\(database ?? "")"
    }

    public var description: String { redacted }

    /// The connection configuration for PostgresNIO.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable:
            tlsSetting = .disable
        case .prefer, .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let rootCertificatePath {
                configuration.trustRoots = .file(rootCertificatePath)
            } else if tls == .prefer {
                // `prefer` takes whatever the server offers, as libpq does.
                configuration.certificateVerification = .none
            }
            let context = try NIOSSLContext(configuration: configuration)
            tlsSetting = tls == .prefer ? .prefer(context) : .require(context)
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }
}
