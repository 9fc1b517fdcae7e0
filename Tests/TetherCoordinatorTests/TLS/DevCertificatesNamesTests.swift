import Foundation
import Testing
import TetherCoordinator
import TetherEngine

@Suite("Which names a server certificate covers (tether dev --https)")
struct DevCertificatesNamesTests {
    @Test("the generated names and addresses, and only those; a file that is not a certificate is an error naming it")
    func names() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-names-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try DevCertificates.generate(into: directory, hostnames: ["Tether.Internal"], ipAddresses: ["10.0.0.5"])
        for host in ["localhost", "127.0.0.1", "::1", "tether.internal", "TETHER.internal", "10.0.0.5"] {
            #expect(try DevCertificates.certificate(at: files.serverCertificatePath, names: host), "\(host)")
        }
        for host in ["example.com", "10.0.0.6", "::2", "internal"] {
            #expect(try !DevCertificates.certificate(at: files.serverCertificatePath, names: host), "\(host)")
        }
        #expect(throws: TetherError.self) { try DevCertificates.certificate(at: files.serverKeyPath, names: "localhost") }
        #expect(throws: TetherError.self) { try DevCertificates.certificate(at: directory + "/missing.pem", names: "localhost") }
    }
}
