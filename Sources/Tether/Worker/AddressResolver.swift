import Foundation
import NIOPosix

/// Resolves a coordinator's host name to its IP addresses with `getaddrinfo`, on NIO's shared
/// thread pool: never on an event loop, nor on a thread of Swift's cooperative pool (a slow
/// DNS server would stall either).
enum AddressResolver {
    /// The host's IPv4 and IPv6 addresses for a TCP connection, in `getaddrinfo`'s order
    /// (preferred first, RFC 6724) and without repeats; an IP address is returned as it is,
    /// without a lookup. Empty when the name does not resolve.
    static func resolve(_ host: String) async -> [String] {
        if isIPAddress(host) { return [host] }
        return (try? await NIOThreadPool.singleton.runIfActive { lookUp(host) }) ?? []
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Blocking: the `getaddrinfo` call itself.
    private static func lookUp(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc) || canImport(Musl)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            next = entry.pointee.ai_next
            guard let address = numericHost(entry.pointee.ai_addr, length: entry.pointee.ai_addrlen),
                !addresses.contains(address)
            else { continue }
            addresses.append(address)
        }
        return addresses
    }

    /// The address as text (`10.0.0.5`, `fd00::5`), or nil for another family.
    private static func numericHost(_ address: UnsafeMutablePointer<sockaddr>?, length: socklen_t) -> String? {
        guard let address else { return nil }
        let family = Int32(address.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(address, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
