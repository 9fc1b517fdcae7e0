import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("TetherFunction: configuration and validation")
struct TetherFunctionTests {
    static func noop(_ id: String, triggers: [Trigger] = [.event("e")], retries: Int? = nil) -> TetherFunction {
        TetherFunction(id, triggers: triggers, retries: retries) { (_: Context<OrderCreated>) in }
    }

    @Test func configCarriesIdNameTriggersAndRetries() {
        let function = TetherFunction(
            "process-order",
            name: "Process order",
            triggers: [
                .event("order/created", if: "event.data.amount > 0"), .cron("0 3 * * *", timeZone: "Europe/Paris"),
            ],
            retries: 2
        ) { (ctx: Context<OrderCreated>) in ctx.event.data.amount }

        let config = function.config
        #expect(config.id == "process-order")
        #expect(config.name == "Process order")
        #expect(config.hasRetries && config.retries == 2)
        #expect(config.triggers.count == 2)
        #expect(config.triggers[0].event.event == "order/created")
        #expect(config.triggers[0].event.expression == "event.data.amount > 0")
        #expect(config.triggers[1].cron.schedule == "0 3 * * *")
        #expect(config.triggers[1].cron.timezone == "Europe/Paris")
    }

    @Test func defaultsLeaveRetriesUnsetAndNameTheId() {
        let config = Self.noop("f").config
        #expect(!config.hasRetries)
        #expect(config.name == "f")
        #expect(config.triggers[0].event.expression == "")
    }

    @Test func triggerDescriptions() {
        #expect(Trigger.event("a/b").description == #"event "a/b""#)
        #expect(Trigger.event("a/b", if: "event.data.x == 1").description == #"event "a/b" if event.data.x == 1"#)
        #expect(Trigger.cron("* * * * *").description == #"cron "* * * * *""#)
        #expect(Trigger.event("a") == Trigger.event("a"))
        #expect(Trigger.event("a") != Trigger.cron("a"))
    }

    @Test func validFunctionsPass() throws {
        try TetherFunction.validate(
            [
                Self.noop("process-order.v2_final", triggers: [.event("order/*", if: "event.data.amount > 100")]),
                Self.noop(
                    "b", triggers: [.cron("*/5 * * * *", timeZone: "Europe/Paris"), .cron("@hourly")], retries: 0),
            ],
            app: "shop"
        )
    }

    @Test func invalidAppNameIsRejected() {
        #expect(throws: TetherError.self) { try TetherFunction.validate([Self.noop("a")], app: "my shop") }
    }

    @Test(arguments: [
        ([TetherFunctionTests.noop("a"), TetherFunctionTests.noop("a")], "unique"),
        ([TetherFunctionTests.noop("")], "empty id"),
        ([TetherFunctionTests.noop(String(repeating: "f", count: 257))], "257 bytes"),
        ([TetherFunctionTests.noop("orders/process")], "try \"orders-process\""),
        ([TetherFunctionTests.noop("a", triggers: [])], "no trigger"),
        ([TetherFunctionTests.noop("a", triggers: Array(repeating: .event("e"), count: 11))], "11 triggers"),
        ([TetherFunctionTests.noop("a", triggers: [.event("")])], "event name is empty"),
        ([TetherFunctionTests.noop("a", triggers: [.event("a b")])], "whitespace"),
        ([TetherFunctionTests.noop("a", triggers: [.event("e", if: "event.data.x = 1")])], "invalid expression"),
        ([TetherFunctionTests.noop("a", triggers: [.cron("every day")])], "invalid cron schedule"),
        ([TetherFunctionTests.noop("a", triggers: [.cron("61 * * * *")])], "minute"),
        (
            [TetherFunctionTests.noop("a", triggers: [.event("e"), .cron("@daily", timeZone: "Mars/Olympus")])],
            "trigger 2"
        ),
        ([TetherFunctionTests.noop("a", retries: -1)], "retries: -1"),
        ([TetherFunctionTests.noop("a", retries: 21)], "between 0 and 20"),
    ])
    func invalidFunctionsAreRejected(functions: [TetherFunction], fragment: String) {
        #expect {
            try TetherFunction.validate(functions)
        } throws: { error in
            guard let error = error as? TetherError else { return false }
            return error.code == .invalidConfig && error.message.contains(fragment)
        }
    }

    @Test func idAtTheLimitPasses() throws {
        try TetherFunction.validate([Self.noop(String(repeating: "f", count: 256))])
    }
}

/// The README's example, kept compiling: type inference must work without annotations on the steps.
@Suite struct ReadmeShapeTests {
    @Test func threeStepFunctionCompilesAndRuns() async throws {
        @Sendable func reserve(_ orderId: String) async throws -> Reservation { Reservation(sku: orderId, quantity: 2) }

        let processOrder = TetherFunction("process-order", trigger: .event("order/created")) {
            (ctx: Context<OrderCreated>) -> Receipt in
            let reservation = try await ctx.step.run("reserve-stock") { try await reserve(ctx.event.data.orderId) }
            let chargeId: String = try await ctx.step.run("charge") { "ch_\(ctx.event.data.orderId)" }
            try await ctx.step.run("send-receipt") { ctx.logger.info("sent \(reservation.quantity)") }
            let count = try await ctx.step.run("count") { 42 }
            #expect(count == 42)
            return Receipt(orderId: ctx.event.data.orderId, chargeId: chargeId)
        }

        let executor = FunctionExecutor(functions: [processOrder])
        let result = await executor.execute(
            Fixtures.request(steps: [
                Fixtures.memoized("reserve-stock", #"{"sku":"o","quantity":2}"#),
                Fixtures.memoized("charge", #""ch_o""#),
                Fixtures.memoized("send-receipt", "null"), Fixtures.memoized("count", "42"),
            ])
        )
        #expect(result.kind == "runCompleted")
    }
}
