/// The version of the worker wire protocol this build speaks.
///
/// Peers with another major version cannot talk to each other and are rejected with
/// `unsupported_version`; minor versions only add fields and stay compatible.
public enum ProtocolVersion {
    /// Incompatible changes bump the major version.
    public static let major: UInt32 = 1
    /// Compatible additions bump the minor version.
    ///
    /// - 1: the coordinator may leave an idle heartbeat unanswered when it answered the one
    ///   before (``sparseIdleAcks``).
    /// - 2: a standby coordinator of a cluster answers `Reject` with code `not_leader` in place
    ///   of the `Challenge`, and `Reject.leader_worker_address` names the leader to dial
    ///   (``notLeaderRedirects``).
    public static let minor: UInt32 = 2

    /// The first minor version whose workers accept sparse heartbeat acks: an idle heartbeat
    /// (no request in flight, now or at the previous one) is answered only when the previous
    /// heartbeat was not, so the worker still hears from the coordinator at least every other
    /// heartbeat, well within its silence limit of three intervals.
    public static let sparseIdleAcks: UInt32 = 1

    /// The first minor version that knows `Reject.leader_worker_address`: a worker of this
    /// version or later follows a `not_leader` Reject to the leader it names. Older workers read
    /// it as a temporary refusal and retry (with the retry-after, when there is one).
    public static let notLeaderRedirects: UInt32 = 2

    /// Whether a peer announcing `major` can talk to this build.
    public static func isSupported(major: UInt32) -> Bool {
        major == Self.major
    }
}
