import Testing

@testable import TetherEngine

@Suite("Lease table: deadlines")
struct LeaseTableTests {
    typealias Table = CoordinatorCore.LeaseTable

    static func lease(_ run: String, connection: String = "c1", deadline: Int64) -> CoordinatorCore.Lease {
        CoordinatorCore.Lease(
            item: .next(run), connectionId: connection, instanceId: "w1", app: "shop", deadlineMilliseconds: deadline,
            dispatchedAtMilliseconds: 0)
    }

    @Test("a lease expires at its current deadline only: renewed, moved, or removed first, its old deadlines find nothing")
    func expiry() {
        var table = Table()
        table.insert(Self.lease("R1", deadline: 100), requestId: "q1")
        table.insert(Self.lease("R2", deadline: 150), requestId: "q2")
        table.insert(Self.lease("R3", deadline: 100), requestId: "q3")
        table.renew("q1", heldBy: "c1", deadline: 300)
        table.renew("q1", heldBy: "other", deadline: 900)  // not the holder: no change
        _ = table.remove("q3")
        #expect(table.earliestDeadline == 100, "a stale entry may wake a tick early")
        #expect(table.takeExpired(at: 120).isEmpty)
        #expect(table.takeExpired(at: 150) == ["q2"])
        _ = table.remove("q2")
        // Detached (deadline kept), then attached to a new connection with a later deadline.
        _ = table.move("q1", to: "", deadline: 0)
        #expect(table.takeExpired(at: 299).isEmpty)
        _ = table.move("q1", to: "c2", deadline: 500)
        #expect(table.takeExpired(at: 499).isEmpty)
        #expect(table.takeExpired(at: 500) == ["q1"])
        #expect(table.invariantViolations().isEmpty, "still tracked until removed")
        #expect(table.takeExpired(at: 600) == ["q1"], "until the caller removes it")
        _ = table.remove("q1")
        #expect(table.takeExpired(at: 1_000).isEmpty)
        #expect(table.earliestDeadline == nil)
        #expect(table.invariantViolations().isEmpty)
    }

    @Test("many renewals keep the deadline heap bounded and every lease tracked")
    func renewals() {
        var table = Table()
        for index in 0..<50 { table.insert(Self.lease("R\(index)", deadline: 1_000), requestId: "q\(index)") }
        for beat in 1...200 {
            for index in 0..<50 { table.renew("q\(index)", heldBy: "c1", deadline: 1_000 + Int64(beat)) }
        }
        #expect(table.invariantViolations().isEmpty)
        #expect(table.takeExpired(at: 1_199).isEmpty)
        #expect(table.takeExpired(at: 1_200).count == 50)
    }
}
