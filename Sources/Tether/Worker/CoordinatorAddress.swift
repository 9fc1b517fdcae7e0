import Foundation
import TetherEngine
import TetherProtocol

/// One coordinator worker address, `host:port`: an entry of `TETHER_COORDINATOR`, or the leader
/// a standby coordinator named in a `not_leader` Reject.
struct CoordinatorAddress: Sendable, Hashable, CustomStringConvertible {
    /// A host name, or an IPv4 or IPv6 address (without brackets).
    let host: String
    let port: Int

    /// `host:port`, with an IPv6 address in brackets.
    var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses one configured entry: `host:port`, `[v6addr]:port`, or `host` alone (the default
    /// worker port); a `scheme://` prefix is ignored. Nil when the host is empty or the port is
    /// not 1–65535.
    init?(configured text: Substring) {
        var text = text
        if let range = text.range(of: "://") { text = text[range.upperBound...] }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(after: close)...].drop(while: { $0 == ":" })
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
            portText = "\(DefaultPorts.worker)"
        }
        guard !host.isEmpty, let port = Int(portText), (1...65_535).contains(port) else { return nil }
        self.init(host: String(host), port: port)
    }

    /// Parses the leader address of a `not_leader` Reject, which comes from the network, so
    /// strictly: `host:port` or `[v6addr]:port` with the port given (1–65535), a host of at most
    /// 253 bytes made of letters, digits and `.-_:%` only (no spaces, commas, slashes or control
    /// characters). Nil when it is anything else, empty included.
    init?(redirect text: String) {
        guard !text.isEmpty, text.utf8.count <= 300 else { return nil }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }  // an IPv6 address needs brackets
        }
        guard !host.isEmpty, host.utf8.count <= 253,
            host.utf8.allSatisfy(Self.isHostByte),
            !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = Int(portText), (1...65_535).contains(port)
        else { return nil }
        self.init(host: String(host), port: port)
    }

    /// Letters, digits, and `.`, `-`, `_`, `:` (IPv6) and `%` (an IPv6 zone).
    private static func isHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"),
            UInt8(ascii: ":"), UInt8(ascii: "%"):
            true
        default:
            false
        }
    }

    /// Parses a comma-separated list of entries (``init(configured:)``); white space around an
    /// entry is ignored. A list of one entry is the single address of a coordinator without a
    /// cluster.
    ///
    /// - Throws: `invalid_config` naming `variable` for an empty list, an empty entry (`a,,b`,
    ///   a trailing comma) or an entry that is not `host:port`.
    static func list(
        parsing text: String, variable: String = "TETHER_COORDINATOR"
    ) throws(TetherError) -> [CoordinatorAddress] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let port = DefaultPorts.worker
        let example = "e.g. 127.0.0.1:\(port), or node-a:\(port),node-b:\(port) for a cluster"
        guard entries.contains(where: { !$0.isEmpty }) else {
            throw TetherError(.invalidConfig, "\(variable) is empty: give one or more host:port addresses, \(example)")
        }
        if entries.count == 1 {
            guard let address = CoordinatorAddress(configured: Substring(entries[0])) else {
                throw TetherError(.invalidConfig, "\(variable) '\(text)' must be host:port, \(example)")
            }
            return [address]
        }
        var addresses: [CoordinatorAddress] = []
        for (index, entry) in entries.enumerated() {
            let position = "address \(index + 1) of \(entries.count)"
            guard !entry.isEmpty else {
                throw TetherError(
                    .invalidConfig,
                    "\(variable) '\(text)': \(position) is empty; separate addresses with single commas, \(example)")
            }
            guard let address = CoordinatorAddress(configured: Substring(entry)) else {
                throw TetherError(
                    .invalidConfig,
                    "\(variable) '\(text)': \(position), '\(entry)', must be host:port with a port of 1-65535, \(example)")
            }
            addresses.append(address)
        }
        return addresses
    }
}
