import Foundation
import SwiftASN1
import TetherEngine
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The DNS names and IP addresses a server certificate is valid for, checked and deduplicated.
struct SubjectNames {
    private(set) var dnsNames: [String] = []
    private(set) var ipAddresses: [[UInt8]] = []

    /// - Throws: ``TetherEngine/TetherError`` with code `invalid_input` for a name that is not a
    ///   DNS name or an address that is not IPv4 or IPv6.
    init(hostnames: [String], ipAddresses: [String]) throws {
        for hostname in hostnames {
            let trimmed = hostname.trimmingCharacters(in: .whitespaces)
            if let address = Self.parseIPAddress(trimmed) {
                self.add(address)
            } else if Self.isDNSName(trimmed) {
                let lowercased = trimmed.lowercased()
                if !self.dnsNames.contains(lowercased) { self.dnsNames.append(lowercased) }
            } else {
                throw TetherError(
                    .invalidInput,
                    "'\(hostname)' is not a valid host name (letters, digits, '-' and '.', optionally starting with '*.')"
                )
            }
        }
        for text in ipAddresses {
            guard let address = Self.parseIPAddress(text.trimmingCharacters(in: .whitespaces)) else {
                throw TetherError(.invalidInput, "'\(text)' is not an IPv4 or IPv6 address")
            }
            self.add(address)
        }
    }

    var generalNames: [GeneralName] {
        self.dnsNames.map { GeneralName.dnsName($0) }
            + self.ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
    }

    private mutating func add(_ address: [UInt8]) {
        if !self.ipAddresses.contains(address) { self.ipAddresses.append(address) }
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address (IPv6 may be written in brackets).
    static func parseIPAddress(_ text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func isDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.first == "*" && labels.count > 1 { labels.removeFirst() }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "-" || CharacterSet.alphanumerics.contains($0)) }
        }
    }
}
