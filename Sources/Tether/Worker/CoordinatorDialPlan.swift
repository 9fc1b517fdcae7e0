import TetherEngine
import TetherProtocol

/// Which coordinator address a worker dials next, and how long it waits first.
///
/// - **One address** (a coordinator without a cluster): every dial goes to it, by name: NIO
///   resolves it and tries each of its addresses in the same attempt, as before clusters existed.
/// - **A list** (the nodes of a cluster): the entries are dialled in turn, round robin from a
///   random start. Each dial resolves its entry again (`getaddrinfo`), and a name with several
///   addresses counts as several entries, one per address. The certificate is checked against
///   the entry's host name, whichever of its addresses is dialled.
/// - **Following the leader**: a standby answers `Reject not_leader` with the leader's address;
///   the next dial goes there, after a short delay (``redirectBackoff``, at most 1 s: a redirect
///   is not a failure). At most ``maxRedirectsInARow`` redirects are followed one after another,
///   and a redirect to the address just dialled is not followed, so stale nodes that name each
///   other send the worker back to the list rather than round in circles. A `not_leader` without
///   a leader (an election in progress) counts as a temporary refusal.
/// - **Failures and refusals in a list** (a node down, an election): the next entry is dialled
///   after a short pause, and the backoff (base 100 ms, cap 30 s, full jitter) grows once per
///   round of the list that failed, not per dial: while a dead leader's lease runs out, a
///   worker's delays stay near the lease's length instead of growing with every refused dial,
///   and there is still never a hot loop. Once a node answered `not_leader` (a cluster in an
///   election, or with a leader that just died), those delays are capped at 2 s
///   (``electionBackoff``) until the next Welcome: a new leader must see its workers back
///   within its resume grace, or it runs their steps again elsewhere.
/// - **After a welcomed connection ends** (closed, `Reconnect`, a deposed leader), the same
///   address is dialled first: a coordinator that restarts is back there, and a deposed one
///   that still runs names the new leader.
///
/// A value, so the policy is tested without sockets; ``Worker`` owns one per `run()`.
struct CoordinatorDialPlan {
    /// One dial.
    struct Target: Sendable, Hashable, CustomStringConvertible {
        /// The address as configured or as a standby named it. Its host is what the certificate
        /// is checked against (and sent as SNI) when it is a name.
        let address: CoordinatorAddress
        /// For an entry of a list, the IP address it resolved to that this dial connects to; nil
        /// connects to `address.host` (resolved when connecting).
        let resolvedHost: String?

        var description: String {
            guard let resolvedHost, resolvedHost != address.host else { return "\(address)" }
            return "\(address) (\(resolvedHost))"
        }
    }

    /// What to dial.
    enum Next: Equatable {
        case dial(Target)
        /// The list entry whose turn it was does not resolve; the turn passes to the next one.
        case unresolved(CoordinatorAddress)
    }

    /// What to do once a connection ended.
    enum Decision: Equatable {
        /// Wait, then dial ``next(using:resolve:)``.
        case wait(milliseconds: Int)
        /// A standby named the leader: wait (briefly), then dial it.
        case follow(leader: Target, afterMilliseconds: Int)
        /// A refusal no retry can fix (`unauthenticated`, `invalid_config`, `unsupported_version`).
        case stop(TetherError)
    }

    /// Redirects followed one after another, without a Welcome, before the list takes over again.
    static let maxRedirectsInARow = 3

    let addresses: [CoordinatorAddress]
    /// The delays after failures and refusals: base 100 ms, cap 30 s (docs/protocol.md).
    private(set) var backoff = ReconnectBackoff()
    /// The delays before following a redirect: the first at most 25 ms, doubling with each
    /// redirect followed since the last Welcome, up to the same 30 s cap.
    private(set) var redirectBackoff = ReconnectBackoff(baseMilliseconds: 25, capMilliseconds: 1_000)
    /// Redirects followed since the worker last dialled an address of its own choosing.
    private(set) var redirectsInARow = 0
    /// Dials that failed or were refused since the last Welcome: the backoff grows once per
    /// round of the list.
    private(set) var failuresInARow = 0
    /// The longest pause between two entries of a list within one round.
    static let withinRoundMilliseconds = 50
    /// The delays after a failed round once a node said `not_leader` since the last Welcome.
    private(set) var electionBackoff = ReconnectBackoff(baseMilliseconds: 100, capMilliseconds: 2_000)
    /// A node answered `not_leader` since the last Welcome: the cluster is electing a leader.
    private(set) var inElection = false
    /// Dialled before the rotation's turn: the leader a standby named, or the address whose
    /// welcomed connection just ended.
    private(set) var preferred: Target?
    /// The target of the last dial.
    private(set) var last: Target?
    /// The entry whose turn it is.
    private var entry: Int
    /// Which of the entry's resolved addresses is next; nil: a random one (the first dial).
    private var member: Int?

    /// A plan over `addresses` (not empty), starting at a random entry.
    init<R: RandomNumberGenerator>(addresses: [CoordinatorAddress], using random: inout R) {
        precondition(!addresses.isEmpty, "a worker needs at least one coordinator address")
        self.addresses = addresses
        self.entry = Int.random(in: 0..<addresses.count, using: &random)
        self.member = nil
    }

    /// What to dial now. For a list, resolves the entry whose turn it is with `resolve` (its IP
    /// addresses, in order; empty when it does not resolve) and moves the turn on.
    mutating func next<R: RandomNumberGenerator>(using random: inout R, resolve: (String) async -> [String]) async -> Next {
        if let preferred {
            self.preferred = nil
            last = preferred
            return .dial(preferred)
        }
        let address = addresses[entry]
        guard addresses.count > 1 else {
            last = Target(address: address, resolvedHost: nil)
            return .dial(last!)
        }
        let resolved = await resolve(address.host)
        guard !resolved.isEmpty else {
            last = nil
            advanceEntry()
            return .unresolved(address)
        }
        let index = (member ?? Int.random(in: 0..<resolved.count, using: &random)) % resolved.count
        if index + 1 < resolved.count {
            member = index + 1
        } else {
            advanceEntry()
        }
        last = Target(address: address, resolvedHost: resolved[index])
        return .dial(last!)
    }

    private mutating func advanceEntry() {
        entry = (entry + 1) % addresses.count
        member = 0
    }

    /// The connection to ``last`` (nil: its entry did not resolve) ended with `end`: what to
    /// do, and whom to dial next.
    mutating func sessionEnded<R: RandomNumberGenerator>(_ end: Worker.SessionEnd, using random: inout R) -> Decision {
        let followed = redirectsInARow
        redirectsInARow = 0
        preferred = nil
        switch end {
        case .rejected(let code, let message, let retryAfter):
            if code == .unauthenticated || code == .invalidConfig || code == .unsupportedVersion {
                return .stop(TetherError(code, message))
            }
            return .wait(milliseconds: failed(atLeast: retryAfter, using: &random))
        case .notLeader(_, let leaderAddress, let retryAfter):
            inElection = true
            guard let leader = CoordinatorAddress(redirect: leaderAddress) else {
                // No leader known (an election), or an address not worth dialling: the list.
                return .wait(milliseconds: failed(atLeast: retryAfter, using: &random))
            }
            guard followed < Self.maxRedirectsInARow, leader != last?.address else {
                return .wait(milliseconds: failed(atLeast: retryAfter, using: &random))
            }
            let delay = Self.delay(&redirectBackoff, atLeast: retryAfter, using: &random)
            let target = Target(address: leader, resolvedHost: nil)
            redirectsInARow = followed + 1
            preferred = target
            return .follow(leader: target, afterMilliseconds: delay)
        case .reconnect(let within):
            backoff.reset()
            redirectBackoff.reset()
            failuresInARow = 0
            electionBackoff.reset()
            inElection = false
            preferred = last
            return .wait(milliseconds: within > 0 ? Int.random(in: 0...Int(within), using: &random) : 0)
        case .closed(_, let wasWelcomed):
            if wasWelcomed {
                backoff.reset()
                redirectBackoff.reset()
                failuresInARow = 0
                electionBackoff.reset()
                inElection = false
                preferred = last
                return .wait(milliseconds: backoff.nextDelay(using: &random))
            }
            return .wait(milliseconds: failed(atLeast: 0, using: &random))
        }
    }

    /// The pause after a failed or refused dial: within a round of a list, a short one (the
    /// next entry may be up); once a whole round failed, the backoff's next delay. At least
    /// `retryAfter` either way.
    private mutating func failed<R: RandomNumberGenerator>(atLeast retryAfter: UInt32, using random: inout R) -> Int {
        failuresInARow += 1
        if addresses.count > 1 && failuresInARow % addresses.count != 0 {
            let pause = Int.random(in: 0...Self.withinRoundMilliseconds, using: &random)
            return retryAfter > 0 ? max(pause, Int(retryAfter) + Int.random(in: 0...Int(retryAfter) / 5, using: &random)) : pause
        }
        if inElection { return Self.delay(&electionBackoff, atLeast: retryAfter, using: &random) }
        return Self.delay(&backoff, atLeast: retryAfter, using: &random)
    }

    /// The backoff's next delay, and at least `retryAfter` (plus its random 0–20 %) when the
    /// Reject asked for one.
    private static func delay<R: RandomNumberGenerator>(
        _ backoff: inout ReconnectBackoff, atLeast retryAfter: UInt32, using random: inout R
    ) -> Int {
        retryAfter > 0 ? backoff.nextDelay(atLeast: Int(retryAfter), using: &random) : backoff.nextDelay(using: &random)
    }
}
