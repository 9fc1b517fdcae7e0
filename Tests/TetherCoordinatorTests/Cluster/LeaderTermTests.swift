import Logging
import Testing
import TetherCluster

@testable import TetherCoordinator

@Suite struct LeaderTermTests {
    /// A term whose lease runs out `milliseconds` from now (negative: it already has). Its
    /// journal is never reached: nothing here appends.
    static func term(leaseLeftMilliseconds milliseconds: Int64) throws -> LeaderTerm {
        var logger = Logger(label: "test.leader-term")
        logger.logLevel = .critical
        let journal = PostgresJournal(url: try JournalURL("postgres://tether@127.0.0.1:1/none"), logger: logger)
        let now = Int64(JournalAppender.monotonicNanoseconds())
        let appender = JournalAppender(
            journal: journal, nodeId: "a", epoch: 1, firstSequence: 1,
            leaseValidUntil: UInt64(now + milliseconds * 1_000_000))
        let state = ClusterNodeState(nodeId: "a")
        state.update { values in
            values.role = .leader
            values.appender = appender
        }
        return LeaderTerm(appender: appender, state: state)
    }

    @Test("a term leads (/readyz 200) only while its lease holds by the node's own clock, even before its loop notices")
    func leadsWhileTheLeaseHolds() throws {
        #expect(try Self.term(leaseLeftMilliseconds: 60_000).isLeading)
        // The node's loop may be held up in a renewal that PostgreSQL does not answer: /readyz
        // must not wait for it.
        #expect(try Self.term(leaseLeftMilliseconds: -1).isLeading == false)
        let fenced = try Self.term(leaseLeftMilliseconds: 60_000)
        fenced.appender.fence("stepping down")
        #expect(fenced.isLeading == false)
    }
}
