import Foundation
import Testing
import TetherEngine

@testable import Tether

@Suite("A unit-test Context: planned steps are carried out locally")
struct UnitTestContextTests {
    let order = Event(name: "order/created", data: OrderCreated(orderId: "o-1", amount: 250))

    @Test func sleepReturnsAtOnceAndWaitTimesOut() async throws {
        let ctx = Context(events: [order])
        let started = ContinuousClock.now
        try await ctx.step.sleep("nap", for: .seconds(3_600))
        try await ctx.step.sleep("later", until: Date().addingTimeInterval(3_600))
        let payment = try await ctx.step.waitForEvent(
            "wait", event: "payment/received", timeout: .seconds(60), as: Payment.self)
        #expect(payment == nil)
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func sendEventReturnsTheEventsIdsOrNewOnes() async throws {
        let ctx = Context(events: [order])
        let ids = try await ctx.step.sendEvent(
            "notify", [OutgoingEvent(name: "a/b", id: "mine"), OutgoingEvent(name: "a/c")])
        #expect(ids.count == 2)
        #expect(ids[0] == "mine")
        #expect(!ids[1].isEmpty && ids[1] != "mine")
    }

    @Test func invokeWithoutAnOutputThrowsAndStepOutputsStandIn() async throws {
        await #expect {
            _ = try await Context(events: [order]).step.invoke(
                "charge", function: "charge-card", data: ["orderId": "o-1"], as: Receipt.self)
        } throws: { error in
            (error as? TetherError)?.message.contains("stepOutputs") == true
        }

        let ctx = Context(
            events: [order],
            stepOutputs: [
                "charge": ["orderId": "o-1", "chargeId": "ch_9"],
                "wait": ["name": "payment/received", "data": ["orderId": "o-1", "amount": 5], "ts": 1_000],
                "reserve": "stored",
            ])
        let receipt = try await ctx.step.invoke(
            "charge", function: "charge-card", data: ["orderId": "o-1"], as: Receipt.self)
        #expect(receipt == Receipt(orderId: "o-1", chargeId: "ch_9"))
        let payment = try await ctx.step.waitForEvent(
            "wait", event: "payment/received", timeout: .seconds(60), as: Payment.self)
        #expect(payment?.data == Payment(orderId: "o-1", amount: 5))
        #expect(payment?.ts == Date(timeIntervalSince1970: 1))
        let reserved: String = try await ctx.step.run("reserve") { "ran" }
        #expect(reserved == "stored", "a run step with an output doesn't run")
    }

    @Test func nestedStepsThrowAClearError() async throws {
        let ctx = Context(events: [order])
        await #expect {
            try await ctx.step.run("outer") { try await ctx.step.sleep("inner", for: .seconds(1)) }
        } throws: { error in
            (error as? TetherError)?.message.contains("can't be nested") == true
        }
    }

    @Test func parallelStepsAllRun() async throws {
        let calls = Calls()
        let ctx = Context(events: [order])
        async let a: Int = ctx.step.run("a") {
            calls.record("a")
            return 1
        }
        async let b: Int = ctx.step.run("b") {
            calls.record("b")
            return 2
        }
        async let nap: Void = ctx.step.sleep("nap", for: .seconds(1))
        let sum = try await a + b
        try await nap
        #expect(sum == 3)
        #expect(calls.total == 2)
    }
}
