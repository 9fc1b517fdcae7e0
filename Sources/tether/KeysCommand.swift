import ArgumentParser
import Foundation
import TetherCoordinator
import TetherProtocol

/// `tether keys generate`: a new signing key.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage signing keys.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new signing key (or write it to a file).")

        @Option(help: "Write the key to this file (mode 0600) instead of printing it.")
        var out: String?

        func run() throws {
            let key = SigningKey.generate()
            if let out {
                guard !FileManager.default.fileExists(atPath: out) else {
                    throw ValidationError("\(out) exists; not overwriting a key")
                }
                try Files.writeSecret(key.text + "\n", to: out)
                print("wrote \(out) (\(key))")
            } else {
                print(key.text)
            }
        }
    }
}

/// `tether certs generate`: a CA and a server certificate for the worker port.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", abstract: "Manage TLS certificates.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a CA and a server certificate (ca.pem, server.pem, server-key.pem) in a directory.")

        @Option(help: "Directory to write the files to.")
        var out: String = "tls"

        @Option(name: .customLong("host"), help: "A DNS name the server certificate is valid for (repeatable).")
        var hosts: [String] = []

        @Option(name: .customLong("ip"), help: "An IP address the server certificate is valid for (repeatable).")
        var ips: [String] = []

        @Flag(help: "Replace existing files.")
        var overwrite = false

        func run() throws {
            if TLSFiles(directory: out).servingFilesExist && !overwrite {
                throw ValidationError(
                    "\(out) already holds ca.pem, server.pem and server-key.pem; pass --overwrite to issue a new server certificate (the CA is kept)")
            }
            let files = try DevCertificates.generate(into: out, hostnames: hosts, ipAddresses: ips, overwrite: overwrite)
            print("CA certificate:      \(files.caCertificatePath)  (give this to workers as TETHER_CA_FILE)")
            print("server certificate:  \(files.serverCertificatePath)")
            print("server private key:  \(files.serverKeyPath)")
        }
    }
}
