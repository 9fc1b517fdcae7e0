import Foundation
import Logging
import Testing
import TetherCluster
import TetherStore
import TetherTestSupport

@testable import TetherCoordinator

/// A cluster leader's term in memory: the router and runtime of RouterFixture, with a real
/// journal in PostgreSQL and a real store.
@Suite struct LeaderStoreFailureTests {
    @Test(
        "a leader whose own store fails ends its term (its appender is fenced), so its node steps down and another node can lead"
    )
    func localStoreFailureEndsTheTerm() async throws {
        var logger = Logger(label: "test.leader-store")
        logger.logLevel = .critical
        let url = try JournalURL(try PostgresTestServer.freshDatabase("leaderstore"))
        let journal = PostgresJournal(url: url, logger: logger)
        try await journal.prepare()
        let epoch = try #require(
            try await journal.acquireLease(nodeId: "a", ttlMilliseconds: 60_000, http: "", worker: ""))
        let appender = JournalAppender(
            journal: journal, nodeId: "a", epoch: epoch, firstSequence: 1,
            leaseValidUntil: JournalAppender.monotonicNanoseconds() + 60_000_000_000)
        let state = ClusterNodeState(nodeId: "a")
        state.update { values in
            values.role = .leader
            values.epoch = epoch
            values.appender = appender
        }
        let term = LeaderTerm(appender: appender, state: state)
        try await RouterFixture.test(configure: { $0.leaderTerm = term }) { client, fixture in
            let sent = try await client.request(.post, "/v1/events", body: #"{"name":"order/created"}"#)
            #expect(sent.status == .ok)
            #expect(try await client.request(.get, "/readyz").status == .ok)
            // The node's own store fails (closed under the writer here; a full or broken disk
            // in production) while the journal still takes appends.
            fixture.engine.store.db.close()
            let refused = try await client.request(.post, "/v1/events", body: #"{"name":"order/created"}"#)
            #expect(refused.status == .serviceUnavailable)
            // The journal holds the commit the store could not write: this node's store is no
            // longer a prefix of it, and it must not go on holding the lease. The node's loop
            // steps down once the appender is fenced.
            #expect(appender.failure?.code == .fenced, "\(String(describing: appender.failure))")
            #expect(!term.isLeading)
            let ready = try await client.request(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            // A local failure still asks for a restart, unlike a journal outage.
            #expect(ready.text.contains("restart the coordinator"))
        }
        await journal.close()
    }
}
