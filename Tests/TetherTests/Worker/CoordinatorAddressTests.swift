import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Coordinator addresses: TETHER_COORDINATOR lists and not_leader redirects")
struct CoordinatorAddressTests {
    typealias Address = CoordinatorAddress

    @Test("one address, as before: host:port, [v6]:port, a host alone gets 7421, a scheme is ignored")
    func single() throws {
        #expect(try Address.list(parsing: "127.0.0.1:7421") == [Address(host: "127.0.0.1", port: 7421)])
        #expect(try Address.list(parsing: "[::1]:9000") == [Address(host: "::1", port: 9000)])
        #expect(try Address.list(parsing: "coordinator.internal") == [Address(host: "coordinator.internal", port: DefaultPorts.worker)])
        #expect(try Address.list(parsing: "tls://node-a:7000") == [Address(host: "node-a", port: 7000)])
        #expect(Address(host: "::1", port: 9000).description == "[::1]:9000")
        #expect(Address(host: "node-a", port: 7000).description == "node-a:7000")
    }

    @Test("a comma-separated list keeps its order; spaces around entries are ignored")
    func list() throws {
        let parsed = try Address.list(parsing: "node-a:7421, node-b:7422 ,10.0.0.3,[fd00::4]:7424")
        #expect(
            parsed == [
                Address(host: "node-a", port: 7421), Address(host: "node-b", port: 7422),
                Address(host: "10.0.0.3", port: DefaultPorts.worker), Address(host: "fd00::4", port: 7424),
            ])
    }

    @Test(
        "empty entries and bad ports are invalid_config naming the variable and the entry",
        arguments: [
            ("", "is empty"), (" , ", "is empty"), ("a:1,,b:2", "address 2 of 3 is empty"), ("a:1,", "address 2 of 2 is empty"),
            (",a:1", "address 1 of 2 is empty"), ("a:1,b:0", "address 2 of 2, 'b:0'"), ("a:1,b:65536", "'b:65536'"),
            ("a:1,b:port", "'b:port'"), ("a:1,:7421", "':7421'"), ("host:99999", "must be host:port"), (":7421", "must be host:port"),
        ])
    func invalid(text: String, expected: String) {
        #expect {
            try Address.list(parsing: text)
        } throws: { error in
            guard let error = error as? TetherError else { return false }
            return error.code == .invalidConfig && error.message.contains("TETHER_COORDINATOR") && error.message.contains(expected)
        }
    }

    @Test("WorkerOptions reads the list from TETHER_COORDINATOR and Worker.run() refuses a bad one")
    func options() async throws {
        let options = WorkerOptions(environment: ["TETHER_COORDINATOR": "node-a:7421,node-b:7421"])
        #expect(try options.coordinatorAddresses() == [Address(host: "node-a", port: 7421), Address(host: "node-b", port: 7421)])

        var bad = WorkerOptions(environment: ["TETHER_COORDINATOR": "node-a:7421,,node-b:7421"])
        bad.signingKey = SigningKey.generate().text
        let worker = Worker(app: "shop", functions: [], options: bad)
        await #expect {
            try await worker.run()
        } throws: { error in
            (error as? TetherError)?.message.contains("TETHER_COORDINATOR 'node-a:7421,,node-b:7421': address 2 of 3 is empty") == true
        }
    }

    @Test("a redirect is host:port with the port given, IPv6 in brackets")
    func redirects() {
        #expect(Address(redirect: "10.0.0.2:7421") == Address(host: "10.0.0.2", port: 7421))
        #expect(Address(redirect: "node-b.cluster.local:7421") == Address(host: "node-b.cluster.local", port: 7421))
        #expect(Address(redirect: "[fd00::2]:7421") == Address(host: "fd00::2", port: 7421))
        #expect(Address(redirect: "[fe80::1%eth0]:7421") == Address(host: "fe80::1%eth0", port: 7421))
    }

    @Test(
        "anything else in a redirect is refused: it came from the network",
        arguments: [
            "", "node-b", "node-b:", ":7421", "node-b:0", "node-b:65536", "node-b:+7421", "node-b:7421 ", " node-b:7421",
            "node-b:7421,node-c:7421", "fd00::2:7421", "[fd00::2]", "[fd00::2]7421", "[node-b]:7421", "http://node-b:7421",
            "node b:7421", "node-b\n:7421", "node-b:74210", String(repeating: "a", count: 254) + ":7421",
        ])
    func badRedirects(text: String) {
        #expect(Address(redirect: text) == nil)
    }
}
