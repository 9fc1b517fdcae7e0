import Synchronization
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Coordinator dial plan: the address list, round robin, following the leader")
struct CoordinatorDialPlanTests {
    typealias Plan = CoordinatorDialPlan
    typealias Address = CoordinatorAddress

    static let nodeA = Address(host: "node-a", port: 7421)
    static let nodeB = Address(host: "node-b", port: 7421)
    static let nodeC = Address(host: "node-c", port: 7421)
    static let notWelcomed = Worker.SessionEnd.closed(reason: "connection refused", wasWelcomed: false)

    /// Resolves names from a table (an IP address to itself, as ``AddressResolver`` does),
    /// counting lookups.
    final class Resolver: Sendable {
        let table: [String: [String]]
        let lookups = Mutex(0)

        init(_ table: [String: [String]]) {
            self.table = table
        }

        func resolve(_ host: String) async -> [String] {
            lookups.withLock { $0 += 1 }
            return table[host] ?? (AddressResolver.isIPAddress(host) ? [host] : [])
        }
    }

    static let resolver = Resolver(["node-a": ["10.0.0.1"], "node-b": ["10.0.0.2"], "node-c": ["10.0.0.3"]])

    /// The next dial, which must be one.
    static func dial(_ plan: inout Plan, _ resolver: Resolver = Self.resolver) async -> Plan.Target? {
        var random = SystemRandomNumberGenerator()
        guard case .dial(let target) = await plan.next(using: &random, resolve: resolver.resolve) else { return nil }
        return target
    }

    static func end(_ plan: inout Plan, _ end: Worker.SessionEnd) -> Plan.Decision {
        var random = SystemRandomNumberGenerator()
        return plan.sessionEnded(end, using: &random)
    }

    static func notLeader(_ leader: String, retryAfter: UInt32 = 0) -> Worker.SessionEnd {
        .notLeader(message: "standby", leaderWorkerAddress: leader, retryAfterMilliseconds: retryAfter)
    }

    @Test("one address: every dial goes to it by name, nothing is resolved by the plan, backoff as before")
    func single() async {
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Self.nodeA], using: &random)
        let resolver = Resolver([:])
        var bounds: [Int] = []
        for _ in 0..<5 {
            #expect(await Self.dial(&plan, resolver) == Plan.Target(address: Self.nodeA, resolvedHost: nil))
            bounds.append(plan.backoff.currentBoundMilliseconds)
            guard case .wait(let delay) = Self.end(&plan, Self.notWelcomed) else {
                Issue.record("a refused connection waits")
                return
            }
            #expect(delay <= bounds.last!)
        }
        #expect(bounds == [100, 200, 400, 800, 1_600], "ReconnectBackoff's defaults, unchanged")
        #expect(resolver.lookups.withLock { $0 } == 0)
    }

    @Test("a list is dialled round robin, from a random start, resolving each entry on each dial")
    func roundRobin() async {
        var starts = Set<String>()
        for _ in 0..<60 {
            var random = SystemRandomNumberGenerator()
            var plan = Plan(addresses: [Self.nodeA, Self.nodeB, Self.nodeC], using: &random)
            let resolver = Resolver(Self.resolver.table)
            var dialled: [String] = []
            for _ in 0..<6 {
                guard let target = await Self.dial(&plan, resolver) else {
                    Issue.record("every entry resolves")
                    return
                }
                #expect(target.resolvedHost == resolver.table[target.address.host]?.first)
                dialled.append(target.address.host)
                _ = Self.end(&plan, Self.notWelcomed)
            }
            starts.insert(dialled[0])
            let order = ["node-a", "node-b", "node-c"]
            let first = order.firstIndex(of: dialled[0])!
            #expect(dialled == (0..<6).map { order[(first + $0) % 3] })
            #expect(resolver.lookups.withLock { $0 } == 6)
        }
        #expect(starts.count == 3, "each entry is a start at some point (probability of a miss: about 1e-10)")
    }

    @Test("a name with several addresses counts as several entries; the certificate is still checked against the name")
    func severalAddresses() async {
        let resolver = Resolver(["cluster": ["10.0.0.1", "10.0.0.2", "fd00::3"], "node-d": ["10.0.0.4"]])
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Address(host: "cluster", port: 7421), Address(host: "node-d", port: 7421)], using: &random)
        var dialled: [String] = []
        for _ in 0..<8 {
            let target = await Self.dial(&plan, resolver)
            #expect(target?.address.host == (target?.resolvedHost == "10.0.0.4" ? "node-d" : "cluster"))
            dialled.append(target?.resolvedHost ?? "-")
            _ = Self.end(&plan, Self.notWelcomed)
        }
        let cycle = ["10.0.0.1", "10.0.0.2", "fd00::3", "10.0.0.4"]
        let first = cycle.firstIndex(of: dialled[0])
        #expect(first != nil)
        #expect(dialled == (0..<8).map { cycle[((first ?? 0) + $0) % 4] })
    }

    @Test("an entry that does not resolve passes its turn to the next")
    func unresolved() async {
        let resolver = Resolver(["node-b": ["10.0.0.2"]])
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Self.nodeA, Self.nodeB], using: &random)
        var outcomes: [Plan.Next] = []
        for _ in 0..<4 {
            outcomes.append(await plan.next(using: &random, resolve: resolver.resolve))
            _ = Self.end(&plan, Self.notWelcomed)
        }
        let unresolved = Plan.Next.unresolved(Self.nodeA)
        let dialB = Plan.Next.dial(Plan.Target(address: Self.nodeB, resolvedHost: "10.0.0.2"))
        #expect(outcomes == [unresolved, dialB, unresolved, dialB] || outcomes == [dialB, unresolved, dialB, unresolved])
    }

    @Test("not_leader with an address: the next dial goes there, by name, after a short delay")
    func follow() async {
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Self.nodeA, Self.nodeB], using: &random)
        _ = await Self.dial(&plan)
        guard case .follow(let leader, let delay) = Self.end(&plan, Self.notLeader("10.0.0.9:7500")) else {
            Issue.record("a standby naming the leader is followed")
            return
        }
        #expect(leader == Plan.Target(address: Address(host: "10.0.0.9", port: 7500), resolvedHost: nil))
        #expect(delay <= 25, "a redirect is not a failure: the first delay is at most 25 ms")
        #expect(await Self.dial(&plan) == leader)
        #expect(plan.backoff.attempt == 0, "the failure backoff is untouched")
    }

    @Test("a redirect's retry-after is honoured")
    func followRetryAfter() async {
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Self.nodeA, Self.nodeB], using: &random)
        _ = await Self.dial(&plan)
        guard case .follow(_, let delay) = Self.end(&plan, Self.notLeader("node-c:7421", retryAfter: 300)) else {
            Issue.record("followed")
            return
        }
        #expect((300...360).contains(delay))
    }

    @Test("not_leader without a leader (an election), or with an address not worth dialling: the next entry, after the backoff and the retry-after")
    func noLeader() async {
        for leader in ["", "not an address", "node-c:0"] {
            var random = SystemRandomNumberGenerator()
            var plan = Plan(addresses: [Self.nodeA, Self.nodeB], using: &random)
            let first = await Self.dial(&plan)
            guard case .wait(let delay) = Self.end(&plan, Self.notLeader(leader, retryAfter: 600)) else {
                Issue.record("no redirect for '\(leader)'")
                return
            }
            #expect((600...720).contains(delay))
            #expect(plan.preferred == nil)
            let second = await Self.dial(&plan)
            #expect(second != nil && second?.address != first?.address, "the next entry")
        }
    }

    @Test("a redirect to the address just dialled is not followed")
    func selfRedirect() async {
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Self.nodeA], using: &random)
        _ = await Self.dial(&plan)
        guard case .wait = Self.end(&plan, Self.notLeader("node-a:7421")) else {
            Issue.record("not followed")
            return
        }
        #expect(plan.preferred == nil)
    }

    @Test("two standbys naming each other: at most 3 redirects in a row, then the list; the backoff grows per round, no hot loop")
    func pingPong() async {
        var random = SystemRandomNumberGenerator()
        let nodeA = Address(host: "10.0.0.1", port: 7421)
        let nodeB = Address(host: "10.0.0.2", port: 7421)
        var plan = Plan(addresses: [nodeA, nodeB], using: &random)
        var followed = 0
        var declined = 0
        var totalBound = 0
        for _ in 0..<80 {
            guard let target = await Self.dial(&plan) else {
                Issue.record("every address dials")
                return
            }
            // Each names the other.
            let other = target.address == nodeA ? nodeB : nodeA
            switch Self.end(&plan, Self.notLeader(other.description)) {
            case .follow: followed += 1
            case .wait: declined += 1
            case .stop: Issue.record("never stops")
            }
            totalBound += plan.redirectBackoff.currentBoundMilliseconds + plan.electionBackoff.currentBoundMilliseconds / 2
            #expect(plan.redirectsInARow <= Plan.maxRedirectsInARow)
        }
        #expect(followed == 60 && declined == 20, "3 followed, then one back to the list, and again")
        #expect(plan.redirectBackoff.currentBoundMilliseconds <= 1_000, "a redirect waits at most 1 s")
        #expect(plan.electionBackoff.currentBoundMilliseconds == 2_000, "in an election, rounds wait up to 2 s")
        #expect(totalBound > 20_000, "80 answers spread over many seconds, not milliseconds")
    }

    @Test("a list with a dead node: the next entry within a round is dialled after at most 50 ms; the backoff grows once per round")
    func deadNodeInAList() async {
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Address(host: "10.0.0.1", port: 7421), Address(host: "10.0.0.2", port: 7421)], using: &random)
        var bounds: [Int] = []
        for round in 0..<6 {
            _ = await Self.dial(&plan)
            guard case .wait(let first) = Self.end(&plan, Self.notWelcomed) else {
                Issue.record("waits")
                return
            }
            #expect(first <= Plan.withinRoundMilliseconds, "round \(round): the other node at once")
            _ = await Self.dial(&plan)
            guard case .wait = Self.end(&plan, Self.notWelcomed) else {
                Issue.record("waits")
                return
            }
            bounds.append(plan.backoff.currentBoundMilliseconds)
        }
        #expect(plan.backoff.attempt == 6, "one step per round of two failed dials")
        #expect(bounds == bounds.sorted())
    }

    @Test("after a welcomed connection ends, or Reconnect, the same address comes first and the backoffs start over")
    func afterWelcome() async {
        var random = SystemRandomNumberGenerator()
        let resolver = Resolver(["node-a": ["10.0.0.1", "10.0.0.11"], "node-b": ["10.0.0.2"]])
        var plan = Plan(addresses: [Self.nodeA, Self.nodeB], using: &random)
        for _ in 0..<3 {
            _ = await Self.dial(&plan, resolver)
            _ = Self.end(&plan, Self.notWelcomed)
            _ = await Self.dial(&plan, resolver)
            _ = Self.end(&plan, Self.notLeader("node-c:7421"))
        }
        #expect(plan.electionBackoff.attempt > 0 && plan.redirectBackoff.attempt > 0)
        let welcomed = await Self.dial(&plan, resolver)
        guard case .wait(let delay) = Self.end(&plan, .closed(reason: "lost", wasWelcomed: true)) else {
            Issue.record("waits")
            return
        }
        #expect(delay <= 100)
        #expect(plan.redirectBackoff.attempt == 0 && plan.electionBackoff.attempt == 0 && !plan.inElection)
        #expect(await Self.dial(&plan, resolver) == welcomed, "the same address and resolved host")

        guard case .wait(let within) = Self.end(&plan, .reconnect(withinMilliseconds: 2_000)) else {
            Issue.record("waits")
            return
        }
        #expect(within <= 2_000)
        #expect(plan.backoff.attempt == 0)
        #expect(await Self.dial(&plan, resolver) == welcomed)
    }

    @Test("unauthenticated, invalid_config and unsupported_version stop the worker; other refusals retry")
    func refusals() async {
        var random = SystemRandomNumberGenerator()
        var plan = Plan(addresses: [Self.nodeA, Self.nodeB], using: &random)
        for code in [ErrorCode.unauthenticated, .invalidConfig, .unsupportedVersion] {
            #expect(
                Self.end(&plan, .rejected(code: code, message: "no", retryAfterMilliseconds: 0)) == .stop(TetherError(code, "no")))
        }
        guard case .wait(let delay) = Self.end(&plan, .rejected(code: .overloaded, message: "busy", retryAfterMilliseconds: 1_000)) else {
            Issue.record("overloaded retries")
            return
        }
        #expect((1_000...1_200).contains(delay))
    }
}
