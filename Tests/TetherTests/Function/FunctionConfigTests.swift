import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("TetherFunction: cancelOn, timeouts, idempotency and onFailure")
struct FunctionConfigTests {
    static func function(
        _ id: String = "f",
        cancelOn: [CancelOn] = [],
        timeouts: Timeouts? = nil,
        idempotency: String? = nil
    ) -> TetherFunction {
        TetherFunction(
            id, trigger: .event("order/created"), cancelOn: cancelOn, timeouts: timeouts, idempotency: idempotency
        ) { (_: Context<OrderCreated>) in }
    }

    @Test func configCarriesCancelOnTimeoutsAndIdempotency() {
        let config = Self.function(
            cancelOn: [
                CancelOn(event: "order/cancelled", if: "async.data.orderId == event.data.orderId"),
                CancelOn(event: "shop/closed"),
            ],
            timeouts: Timeouts(start: .seconds(60), finish: .milliseconds(1.5)),
            idempotency: "event.data.orderId"
        ).config

        #expect(config.cancelOn.map(\.event) == ["order/cancelled", "shop/closed"])
        #expect(config.cancelOn.map(\.match) == ["async.data.orderId == event.data.orderId", ""])
        #expect(config.timeoutStartMs == 60_000)
        #expect(config.timeoutFinishMs == 2)
        #expect(config.idempotency == "event.data.orderId")
    }

    @Test func defaultsLeaveTheNewFieldsEmpty() {
        let config = Self.function().config
        #expect(config.cancelOn.isEmpty)
        #expect(config.timeoutStartMs == 0 && config.timeoutFinishMs == 0)
        #expect(config.idempotency == "")
        #expect(Self.function().configs(app: "shop").count == 1, "no onFailure, no extra function")
    }

    @Test func validConfigurationPasses() throws {
        try TetherFunction.validate(
            [
                Self.function(
                    cancelOn: [CancelOn(event: "order/cancelled", if: "async.data.id == event.data.id")],
                    timeouts: Timeouts(start: .seconds(1), finish: .seconds(366 * 86_400)),
                    idempotency: "event.data.customerId + ':' + event.data.orderId")
            ],
            app: "shop")
    }

    @Test(arguments: [
        (FunctionConfigTests.function(cancelOn: [CancelOn(event: "order/*")]), "not a prefix"),
        (FunctionConfigTests.function(cancelOn: [CancelOn(event: "order/cancelled", if: "async.x ==")]), "cancelOn 1"),
        (
            FunctionConfigTests.function(cancelOn: Array(repeating: CancelOn(event: "a/b"), count: 11)),
            "at most 10 cancelOn"
        ),
        (FunctionConfigTests.function(timeouts: Timeouts(start: .zero)), "timeouts.start is"),
        (FunctionConfigTests.function(timeouts: Timeouts(finish: .seconds(-1))), "timeouts.finish is"),
        (FunctionConfigTests.function(timeouts: Timeouts(finish: .seconds(367 * 86_400))), "timeouts.finish must be"),
        (FunctionConfigTests.function(idempotency: "event.data.("), "invalid idempotency expression"),
        (FunctionConfigTests.function(idempotency: "async.data.id"), "`async` is not available"),
    ])
    func invalidConfigurationIsRejected(function: TetherFunction, fragment: String) {
        #expect(rejectsAtWorkerStart([function], containing: fragment))
    }
}

struct FailedOrder: Codable, Sendable, Equatable {
    var orderId: String
    var error: String
    var runId: String
    var functionId: String
    var eventId: String
    var refunded: Bool

    /// Its JSON with sorted keys, to compare.
    var json: String {
        get throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }
}

@Suite("onFailure: a handler function of its own, run for tether/function.failed events")
struct OnFailureTests {
    let calls = Calls()

    static func processOrder(_ calls: Calls) -> TetherFunction {
        TetherFunction(
            "process-order", name: "Process order", trigger: .event("order/created"), retries: 2,
            onFailure: { (ctx: FailureContext<OrderCreated>) in
                let refunded: Bool = try await ctx.step.run("refund") {
                    calls.record("refund")
                    return true
                }
                let failed = FailedOrder(
                    orderId: ctx.event.data.orderId, error: "\(ctx.error)", runId: ctx.runId,
                    functionId: ctx.functionId, eventId: ctx.event.id, refunded: refunded)
                try await ctx.step.run("report") { calls.record("report \(failed.orderId)") }
                calls.record(try failed.json)
            }
        ) { (ctx: Context<OrderCreated>) in
            try await ctx.step.run("charge") { throw NonRetriableError("card declined") }
        }
    }

    static let failedEventData = """
        {"function_id":"shop:process-order","run_id":"run-7",\
        "error":{"code":"step_failed","message":"card declined"},\
        "event":{"id":"evt-1","name":"order/created","data":{"orderId":"o-1","amount":250},"ts":1700000000123,"v":""}}
        """

    static func failedRequest(steps: [Tether_V1_MemoizedStep] = []) -> Tether_V1_StepRequest {
        var request = Fixtures.request(function: "process-order-failure", data: failedEventData, steps: steps)
        request.events[0].name = "tether/function.failed"
        request.events[0].id = "evt-failed-1"
        request.runID = "run-8"
        return request
    }

    @Test func configsRegisterTheHandlerAsAFunctionTriggeredByFailures() throws {
        let configs = Self.processOrder(calls).configs(app: "shop")

        try #require(configs.count == 2)
        #expect(configs[0].id == "process-order")
        let handler = configs[1]
        #expect(handler.id == "process-order-failure")
        #expect(handler.name == "Process order (on failure)")
        #expect(handler.retries == 2)
        #expect(handler.triggers.count == 1)
        #expect(handler.triggers[0].event.event == "tether/function.failed")
        #expect(handler.triggers[0].event.expression == #"event.data.function_id == "shop:process-order""#)
        #expect(handler.cancelOn.isEmpty && handler.idempotency.isEmpty)

        // The coordinator accepts it, and its match selects only this function's failures.
        let definition = FunctionDefinition(handler, app: "shop")
        try definition.validate()
        let match = try Expression(parsing: handler.triggers[0].event.expression)
        let failed = try JSONValue(parsing: #"{"data":{"function_id":"shop:process-order"}}"#)
        let other = try JSONValue(parsing: #"{"data":{"function_id":"shop:other"}}"#)
        #expect(match.matches(event: failed, async: nil))
        #expect(!match.matches(event: other, async: nil))
    }

    @Test func executingTheHandlerDecodesTheFailedRunsEvent() async throws {
        let executor = FunctionExecutor(functions: [Self.processOrder(calls)])

        let first = await executor.execute(Self.failedRequest())
        #expect(first.kind == "stepCompleted")
        #expect(first.stepCompleted.stepID == "refund")
        #expect(calls.count("refund") == 1)

        let second = await executor.execute(Self.failedRequest(steps: [Fixtures.memoized("refund", "true")]))
        #expect(second.kind == "runCompleted")
        #expect(second.runCompleted.lastStep.stepID == "report")
        #expect(calls.count("report o-1") == 1)
        let expected = FailedOrder(
            orderId: "o-1", error: "step_failed: card declined", runId: "run-7", functionId: "shop:process-order",
            eventId: "evt-1", refunded: true)
        #expect(calls.count(try expected.json) == 1, "\(calls.names)")
    }

    @Test func theFunctionItselfStillRunsUnderItsOwnId() async throws {
        let result = await FunctionExecutor(functions: [Self.processOrder(calls)]).execute(
            Fixtures.request(function: "process-order"))
        #expect(result.stepFailed.stepID == "charge")
        #expect(calls.count("refund") == 0)
    }

    @Test func failedEventWithoutTheOriginalEventIsInvalidInput() async throws {
        var request = Self.failedRequest()
        request.events[0].data = Data(#"{"function_id":"shop:process-order","run_id":"run-7"}"#.utf8)
        let result = await FunctionExecutor(functions: [Self.processOrder(calls)]).execute(request)
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.message.contains("\"event\""))
        #expect(calls.total == 0)
    }

    @Test func handlerIdMustFitAndNotCollide() {
        let long = String(repeating: "f", count: 250)
        let handler: @Sendable (FailureContext<OrderCreated>) async throws -> Void = { _ in }
        let tooLong = TetherFunction(long, trigger: .event("e"), onFailure: handler) { (_: Context<OrderCreated>) in }
        #expect {
            try TetherFunction.validate([tooLong], app: "shop")
        } throws: { error in
            (error as? TetherError)?.message.contains("onFailure handler is registered as") == true
        }

        let withHandler = TetherFunction("sync", trigger: .event("e"), onFailure: handler) {
            (_: Context<OrderCreated>) in
        }
        let clash = TetherFunction("sync-failure", trigger: .event("e")) { (_: Context<OrderCreated>) in }
        #expect {
            try TetherFunction.validate([clash, withHandler], app: "shop")
        } throws: { error in
            (error as? TetherError)?.message.contains("\"sync-failure\"") == true
        }
    }

    @Test func handlerCanBeCalledDirectlyInAUnitTest() async throws {
        let calls = self.calls
        let handler: @Sendable (FailureContext<OrderCreated>) async throws -> Void = { ctx in
            try await ctx.step.run("refund") { calls.record("refund \(ctx.event.data.orderId) \(ctx.error.code)") }
        }
        try await handler(
            FailureContext(
                event: Event(name: "order/created", data: OrderCreated(orderId: "o-2", amount: 1)),
                error: RunFailure(code: "step_failed", message: "boom")))
        #expect(calls.count("refund o-2 step_failed") == 1)
    }
}
