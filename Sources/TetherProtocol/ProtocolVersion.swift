/// The version of the worker wire protocol this build speaks.
///
/// Peers with another major version cannot talk to each other and are rejected with
/// `unsupported_version`; minor versions only add fields and stay compatible.
public enum ProtocolVersion {
    /// Incompatible changes bump the major version.
    public static let major: UInt32 = 1
    /// Compatible additions bump the minor version.
    public static let minor: UInt32 = 0

    /// Whether a peer announcing `major` can talk to this build.
    public static func isSupported(major: UInt32) -> Bool {
        major == Self.major
    }
}
