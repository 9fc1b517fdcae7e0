import Foundation
import Testing
import TetherProtocol

@testable import Tether
@testable import TetherEngine

@Suite("Context.events: a batched run sees every event")
struct BatchedEventsTests {
    static func event(_ index: Int, data: String? = nil) -> EventRecord {
        EventRecord(
            id: "evt-\(index)", name: "order/created",
            data: Array((data ?? #"{"orderId":"o-\#(index)","amount":\#(index * 100)}"#).utf8),
            timestampMilliseconds: 1_700_000_000_000 + Int64(index))
    }

    /// The request the coordinator sends for a run of `events`, built by its own conversion.
    static func request(_ events: [EventRecord]) -> Tether_V1_StepRequest {
        let run = RunRecord(
            id: "run-b", functionId: "shop:import", app: "shop", functionSlug: "import", status: .queued,
            events: events, createdAtMilliseconds: 1_000, maxAttempts: 5)
        return Tether_V1_StepRequest(
            StepDispatch(connectionId: "c", requestId: "req-b", run: run, attempt: 1, leaseDeadlineMilliseconds: 0))
    }

    static let importOrders = TetherFunction("import", trigger: .event("order/created")) {
        (ctx: Context<OrderCreated>) -> [String] in
        [ctx.event.id] + ctx.events.map { "\($0.id) \($0.data.orderId) \($0.data.amount)" }
    }
    .batchEvents(maxSize: 3, timeout: .seconds(5))

    @Test func aBatchOfThreeDecodesIntoEvents() async throws {
        let request = Self.request((1...3).map { Self.event($0) })
        #expect(request.events.map(\.id) == ["evt-1", "evt-2", "evt-3"])

        let result = await FunctionExecutor(functions: [Self.importOrders]).execute(request)
        #expect(result.kind == "runCompleted")
        let output = try Fixtures.decodeJSON([String].self, result.runCompleted.output)
        #expect(output == ["evt-1", "evt-1 o-1 100", "evt-2 o-2 200", "evt-3 o-3 300"], "ctx.event is the first")
    }

    @Test func oneEventThatDoesNotDecodeFailsTheRunNamingIt() async throws {
        let request = Self.request([Self.event(1), Self.event(2, data: #"{"orderId":"o-2"}"#), Self.event(3)])
        let result = await FunctionExecutor(functions: [Self.importOrders]).execute(request)
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.message.contains("(id evt-2)"))
        #expect(result.stepFailed.error.message.contains("amount"))
    }
}
