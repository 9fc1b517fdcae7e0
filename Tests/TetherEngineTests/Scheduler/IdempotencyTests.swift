import Testing

@testable import TetherEngine

@Suite("Idempotency: event ids and function keys, 24 h")
struct IdempotencyTests {
    static let day: Int64 = 24 * 3_600_000

    static func keyed() -> FunctionDefinition {
        var function = CoreHarness.orderFunction()
        function.idempotency = "event.data.customer"
        return function
    }

    static func event(_ customer: String, id: String? = nil) -> IncomingEvent {
        IncomingEvent(id: id, name: "order/created", data: Array(#"{"customer":"\#(customer)"}"#.utf8))
    }

    @Test("an event id dedupes for 24 h, then is accepted as a new event under a new id")
    func eventIdWindow() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 0)
        let first = h.core.ingest([Self.event("a", id: "evt-1")], now: h.now).receipts[0]
        let again = h.core.ingest([Self.event("a", id: "evt-1")], now: h.now + Self.day - 1).receipts[0]
        #expect(again.duplicate)
        #expect(again.runIds == first.runIds)

        let later = h.core.ingest([Self.event("a", id: "evt-1")], now: h.now + Self.day).receipts[0]
        #expect(!later.duplicate)
        #expect(later.eventId != "evt-1", "the old event keeps its id")
        #expect(later.runIds.count == 1 && later.runIds != first.runIds)

        // Known from the store only (an older coordinator process).
        var fresh = CoreHarness()
        _ = try fresh.connect("c1", capacity: 0)
        let stored = KnownEvent(runIds: first.runIds, receivedAtMilliseconds: h.now)
        let dup = fresh.core.ingest([Self.event("a", id: "evt-1")], known: ["evt-1": stored], now: h.now + 5).receipts[0]
        #expect(dup.duplicate)
        let expired = fresh.core.ingest([Self.event("a", id: "evt-1")], known: ["evt-1": stored], now: h.now + Self.day)
        #expect(!expired.receipts[0].duplicate)
    }

    @Test("an idempotency key runs at most one run per value per 24 h; null keys are not deduplicated")
    func functionKey() throws {
        var h = CoreHarness()
        _ = try h.connect("c1", capacity: 0, functions: [Self.keyed()])
        let (receipts, effects) = h.core.ingest([Self.event("ann"), Self.event("bob"), Self.event("ann")], now: h.now)
        #expect(receipts.map(\.runIds.count) == [1, 1, 0])
        #expect(effects.writes.contains(.putIdempotencyKey(key: "shop:process-order\u{0}\"ann\"", atMilliseconds: h.now)))
        let none = IncomingEvent(name: "order/created", data: Array("{}".utf8))
        #expect(h.core.ingest([none, none], now: h.now).receipts.map(\.runIds.count) == [1, 1])

        // The window passes: the key expires (deleted from the store too) and runs again.
        let expiry = h.tick(at: h.now + Self.day)
        #expect(expiry.writes.contains(.deleteIdempotencyKey(key: "shop:process-order\u{0}\"ann\"")))
        #expect(h.core.ingest([Self.event("ann")], now: h.now).receipts[0].runIds.count == 1)
    }

    @Test("idempotency keys survive a restart")
    func keysSurviveRestart() throws {
        var h = CoreHarness()
        h.core.restore(
            functions: [Self.keyed()], runs: [], idempotencyKeys: ["shop:process-order\u{0}\"ann\"": h.now - 1_000],
            now: h.now)
        #expect(h.core.ingest([Self.event("ann")], now: h.now).receipts[0].runIds.isEmpty)
        #expect(h.core.ingest([Self.event("bob")], now: h.now).receipts[0].runIds.count == 1)
    }

    @Test("an idempotency expression over async is refused at registration")
    func asyncRefused() {
        var function = CoreHarness.orderFunction()
        function.idempotency = "async.data.id"
        #expect(throws: TetherError.self) { try function.validate() }
    }
}
