import Testing

@testable import Tether

@Suite("AddressResolver")
struct AddressResolverTests {
    @Test("an IP address is its own resolution")
    func literal() async {
        #expect(await AddressResolver.resolve("10.0.0.5") == ["10.0.0.5"])
        #expect(await AddressResolver.resolve("fd00::5") == ["fd00::5"])
        #expect(AddressResolver.isIPAddress("127.0.0.1") && AddressResolver.isIPAddress("::1"))
        #expect(!AddressResolver.isIPAddress("localhost") && !AddressResolver.isIPAddress("10.0.0"))
    }

    @Test("localhost resolves to loopback addresses, each once, as text")
    func localhost() async {
        let addresses = await AddressResolver.resolve("localhost")
        #expect(!addresses.isEmpty)
        #expect(Set(addresses).count == addresses.count)
        #expect(addresses.allSatisfy { $0 == "::1" || $0.hasPrefix("127.") })
    }
}
