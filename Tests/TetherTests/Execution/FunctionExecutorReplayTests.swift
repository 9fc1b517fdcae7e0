import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Replay: memoized steps, the first new step, and stopping at the next")
struct FunctionExecutorReplayTests {
    let calls = Calls()

    var executor: FunctionExecutor { FunctionExecutor(functions: [Fixtures.processOrder(calls)]) }

    @Test func firstRequestRunsOnlyTheFirstStep() async throws {
        let result = await executor.execute(Fixtures.request())

        #expect(result.requestID == "req-1")
        #expect(result.runID == "run-1")
        #expect(result.kind == "stepCompleted")
        let completed = result.stepCompleted
        #expect(completed.stepID == "reserve-stock")
        #expect(try Fixtures.decodeJSON(Reservation.self, completed.output) == Reservation(sku: "sku-o-1", quantity: 1))
        #expect(completed.startedAtUnixMs > 0)
        #expect(completed.endedAtUnixMs >= completed.startedAtUnixMs)
        #expect(calls.count("reserve-stock") == 1)
        #expect(calls.count("charge") == 0, "the next new step is reported, not run")
        #expect(calls.count("send-receipt") == 0)
    }

    @Test func memoizedStepIsNotRunAgainAndTheNextOneRuns() async throws {
        let request = Fixtures.request(steps: [Fixtures.memoized("reserve-stock", #"{"sku":"sku-o-1","quantity":3}"#)])
        let result = await executor.execute(request)

        #expect(result.kind == "stepCompleted")
        #expect(result.stepCompleted.stepID == "charge")
        #expect(result.stepCompleted.output.string == #""ch_o-1_3""#, "the memoized output feeds the next step")
        #expect(calls.count("reserve-stock") == 0)
        #expect(calls.count("charge") == 1)
        #expect(calls.count("send-receipt") == 0)
    }

    @Test func lastStepAndReturnValueComeInOneResult() async throws {
        let request = Fixtures.request(steps: [
            Fixtures.memoized("reserve-stock", #"{"sku":"s","quantity":1}"#),
            Fixtures.memoized("charge", #""ch_9""#),
        ])
        let result = await executor.execute(request)

        #expect(result.kind == "runCompleted")
        let run = result.runCompleted
        #expect(run.hasLastStep)
        #expect(run.lastStep.stepID == "send-receipt")
        #expect(run.lastStep.output.string == "null", "a Void step stores JSON null")
        #expect(try Fixtures.decodeJSON(Receipt.self, run.output) == Receipt(orderId: "o-1", chargeId: "ch_9"))
        #expect(calls.count("send-receipt") == 1)
        #expect(calls.total == 1)
    }

    @Test func everyStepMemoizedCompletesTheRunWithoutRunningAnything() async throws {
        let request = Fixtures.request(steps: [
            Fixtures.memoized("reserve-stock", #"{"sku":"s","quantity":1}"#),
            Fixtures.memoized("charge", #""ch_9""#),
            Fixtures.memoized("send-receipt", "null"),
        ])
        let result = await executor.execute(request)

        #expect(result.kind == "runCompleted")
        #expect(!result.runCompleted.hasLastStep)
        #expect(
            try Fixtures.decodeJSON(Receipt.self, result.runCompleted.output)
                == Receipt(orderId: "o-1", chargeId: "ch_9"))
        #expect(calls.total == 0)
    }

    @Test func functionWithoutStepsCompletesAtOnce() async throws {
        let function = TetherFunction("hello", trigger: .event("greet")) { (ctx: Context<OrderCreated>) in
            "hello \(ctx.event.data.orderId)"
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "hello"))

        #expect(result.kind == "runCompleted")
        #expect(!result.runCompleted.hasLastStep)
        #expect(result.runCompleted.output.string == #""hello o-1""#)
    }

    @Test func voidFunctionOutputsNull() async throws {
        let calls = self.calls
        let function = TetherFunction("notify", trigger: .event("order/created")) { (ctx: Context<OrderCreated>) in
            try await ctx.step.run("notify") { calls.record("notify") }
        }
        let executor = FunctionExecutor(functions: [function])

        let first = await executor.execute(Fixtures.request(function: "notify"))
        #expect(first.kind == "runCompleted")
        #expect(first.runCompleted.lastStep.stepID == "notify")
        #expect(first.runCompleted.output.string == "null")

        let replay = await executor.execute(
            Fixtures.request(function: "notify", steps: [Fixtures.memoized("notify", "null")]))
        #expect(replay.kind == "runCompleted")
        #expect(!replay.runCompleted.hasLastStep)
        #expect(calls.count("notify") == 1)
    }

    @Test func repeatedIdsGetSuffixes() async throws {
        let calls = self.calls
        let function = TetherFunction("loop", trigger: .event("order/created")) {
            (ctx: Context<OrderCreated>) -> [Int] in
            var amounts: [Int] = []
            for i in 1...3 {
                let amount: Int = try await ctx.step.run("charge") {
                    calls.record("charge")
                    return i * 10
                }
                amounts.append(amount)
            }
            return amounts
        }
        let executor = FunctionExecutor(functions: [function])

        let second = await executor.execute(
            Fixtures.request(function: "loop", steps: [Fixtures.memoized("charge", "10")]))
        #expect(second.stepCompleted.stepID == "charge:1")
        #expect(second.stepCompleted.output.string == "20")

        let third = await executor.execute(
            Fixtures.request(
                function: "loop", steps: [Fixtures.memoized("charge", "10"), Fixtures.memoized("charge:1", "20")])
        )
        #expect(third.kind == "runCompleted")
        #expect(third.runCompleted.lastStep.stepID == "charge:2")
        #expect(third.runCompleted.output.string == "[10,20,30]")
        #expect(calls.count("charge") == 2)
    }

    @Test func suffixSkipsAnIdTheUserAlreadyGave() async throws {
        let function = TetherFunction("ids", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> [String] in
            let a: String = try await ctx.step.run("a") { "first" }
            let b: String = try await ctx.step.run("a:1") { "explicit" }
            let c: String = try await ctx.step.run("a") { "second" }
            return [a, b, c]
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(
                function: "ids", steps: [Fixtures.memoized("a", #""first""#), Fixtures.memoized("a:1", #""explicit""#)])
        )
        #expect(result.runCompleted.lastStep.stepID == "a:2")
        #expect(result.runCompleted.output.string == #"["first","explicit","second"]"#)
    }

    @Test func swallowedInterruptStillReportsTheExecutedStep() async throws {
        let calls = self.calls
        let function = TetherFunction("swallow", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> String in
            for id in ["one", "two", "three"] {
                do {
                    try await ctx.step.run(id) { calls.record(id) }
                } catch {
                    // Careless user code: swallows every error, including Tether's stop signal.
                }
            }
            return "done"
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "swallow"))

        #expect(result.kind == "stepCompleted")
        #expect(result.stepCompleted.stepID == "one")
        #expect(calls.count("one") == 1)
        #expect(calls.count("two") == 0)
        #expect(calls.count("three") == 0)
    }

    @Test func concurrentStepsArePlannedTogetherAndAreNotMistakenForNested() async throws {
        let calls = self.calls
        let function = TetherFunction("parallel", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            async let a: Int = ctx.step.run("a") {
                calls.record("a")
                return 1
            }
            async let b: Int = ctx.step.run("b") {
                calls.record("b")
                return 2
            }
            return try await a + b
        }
        let executor = FunctionExecutor(functions: [function])

        let first = await executor.execute(Fixtures.request(function: "parallel"))
        #expect(first.kind == "stepsPlanned", "two steps started together are dispatched together")
        #expect(Set(first.plannedOps) == ["a:run", "b:run"])
        #expect(calls.total == 0)

        var stored: [Tether_V1_MemoizedStep] = []
        for target in ["a", "b"] {
            let targeted = await executor.execute(Fixtures.request(function: "parallel", target: target))
            #expect(targeted.kind == "stepCompleted")
            #expect(targeted.stepCompleted.stepID == target)
            stored.append(Fixtures.memoized(target, targeted.stepCompleted.output.string))
        }
        let last = await executor.execute(Fixtures.request(function: "parallel", steps: stored))
        #expect(last.kind == "runCompleted")
        #expect(last.runCompleted.output.string == "3")
        #expect(calls.count("a") == 1 && calls.count("b") == 1)
    }

    @Test func stepValueIsTheOneReplaysSee() async throws {
        // 1.5 ms survives the JSON round trip as 1 ms precision; the body must see the decoded value on
        // the first run too, or it could branch differently from later replays.
        let date = Date(timeIntervalSince1970: 1_700_000_000.1235)
        let function = TetherFunction("dates", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Bool in
            let stored: Date = try await ctx.step.run("now") { date }
            return stored == date
        }
        let executor = FunctionExecutor(functions: [function])
        let first = await executor.execute(Fixtures.request(function: "dates"))
        #expect(first.runCompleted.lastStep.output.string == #""2023-11-14T22:13:20.123Z""#)
        #expect(first.runCompleted.output.string == "false")

        let replay = await executor.execute(
            Fixtures.request(function: "dates", steps: [Fixtures.memoized("now", #""2023-11-14T22:13:20Z""#)])
        )
        #expect(replay.kind == "runCompleted", "whole-second ISO 8601 dates decode too")
    }

    @Test func contextCarriesTheRequest() async throws {
        let function = TetherFunction("ctx", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> [String] in
            [
                ctx.runId, String(ctx.attempt), ctx.event.name, ctx.event.id,
                String(Int64(ctx.event.ts.timeIntervalSince1970 * 1000)), String(ctx.events.count),
                String(ctx.event.data.amount),
            ]
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "ctx", attempt: 3))
        let values = try Fixtures.decodeJSON([String].self, result.runCompleted.output)
        #expect(values == ["run-1", "3", "order/created", "evt-1", "1700000000123", "1", "250"])
    }

    @Test func unitTestContextRunsEveryStep() async throws {
        let calls = self.calls
        let body: @Sendable (Context<OrderCreated>) async throws -> Int = { ctx in
            let a: Int = try await ctx.step.run("a") {
                calls.record("a"); return 1
            }
            let b: Int = try await ctx.step.run("b") {
                calls.record("b"); return 2
            }
            return a + b
        }
        let context = Context(events: [Event(name: "e", data: OrderCreated(orderId: "o", amount: 1))])
        #expect(try await body(context) == 3)
        #expect(calls.total == 2)
    }
}
