import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Parallel steps: all are planned together, targeted requests run one each")
struct ParallelStepTests {
    let calls = Calls()

    /// Three `async let` steps; each closure yields a few times, then records whether its task was cancelled.
    static func threeParallel(_ calls: Calls) -> TetherFunction {
        TetherFunction("three", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            @Sendable func work(_ id: String, _ value: Int) async -> Int {
                for _ in 0..<5 { await Task.yield() }
                calls.record(Task.isCancelled ? "cancelled" : id)
                return value
            }
            async let a: Int = ctx.step.run("a") { await work("a", 1) }
            async let b: Int = ctx.step.run("b") { await work("b", 10) }
            async let c: Int = ctx.step.run("c") { await work("c", 100) }
            return try await a + b + c
        }
    }

    @Test func asyncLetOfThreePlansAllThreeAndExecutesNone() async throws {
        // Repeated: the order in which the children reach their steps varies. The request ends only when no
        // task of the body can run (`RequestExecutor`), so all three are always planned, to run at once.
        for _ in 0..<20 {
            let calls = Calls()
            let result = await FunctionExecutor(functions: [Self.threeParallel(calls)]).execute(
                Fixtures.request(function: "three"))
            #expect(result.kind == "stepsPlanned")
            #expect(!result.stepsPlanned.hasExecuted, "none runs here: running one first would serialise it")
            #expect(Set(result.plannedOps) == ["a:run", "b:run", "c:run"])
            #expect(calls.total == 0)
        }
    }

    @Test func targetedRequestsRunEachPlannedStepThenTheBodyCompletes() async throws {
        let calls = Calls()
        let executor = FunctionExecutor(functions: [Self.threeParallel(calls)])
        let first = await executor.execute(Fixtures.request(function: "three"))
        let planned = first.stepsPlanned.ops.map(\.stepID)
        try #require(planned.count == 3)

        var stored: [Tether_V1_MemoizedStep] = []
        for target in planned {
            // The coordinator dispatches each planned step on its own, at the same time.
            let targeted = await executor.execute(Fixtures.request(function: "three", target: target))
            #expect(targeted.kind == "stepCompleted")
            #expect(targeted.stepCompleted.stepID == target)
            stored.append(Fixtures.memoized(target, targeted.stepCompleted.output.string))
        }
        #expect(calls.count("a") == 1 && calls.count("b") == 1 && calls.count("c") == 1)

        let last = await executor.execute(Fixtures.request(function: "three", steps: stored))
        #expect(last.kind == "runCompleted")
        #expect(!last.runCompleted.hasLastStep)
        #expect(last.runCompleted.output.string == "111")
        #expect(calls.total == 3)
    }

    @Test func taskGroupPlansEveryStep() async throws {
        let calls = self.calls
        let function = TetherFunction("group", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        try await ctx.step.run("item-\(i)") {
                            calls.record("item-\(i)")
                            return i
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "group"))

        try #require(result.kind == "stepsPlanned")
        let planned = result.stepsPlanned.ops.map(\.stepID)
        #expect(Set(planned) == Set((0..<12).map { "item-\($0)" }))
        #expect(planned.count == 12)
        #expect(result.stepsPlanned.ops.allSatisfy { if case .run = $0.op { true } else { false } })
        #expect(!result.stepsPlanned.hasExecuted)
        #expect(calls.total == 0)
    }

    @Test func targetedRequestExecutesOnlyTheTargetAndReportsNoSiblings() async throws {
        let calls = self.calls
        let function = TetherFunction("mixed", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> String in
            async let nap: Void = ctx.step.sleep("nap", for: .seconds(60))
            async let a: String = ctx.step.run("a") {
                calls.record("a")
                return "A"
            }
            async let b: String = ctx.step.run("b") {
                calls.record("b")
                return "B"
            }
            try await nap
            return try await a + b
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "mixed", target: "b"))

        #expect(result.kind == "stepCompleted")
        #expect(result.stepCompleted.stepID == "b")
        #expect(result.stepCompleted.output.string == #""B""#)
        #expect(calls.count("a") == 0, "not the target: it waits")
        #expect(calls.count("b") == 1)
    }

    @Test func targetedStepThatFailsIsReported() async throws {
        let function = TetherFunction("pair", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            async let a: Int = ctx.step.run("a") { 1 }
            async let b: Int = ctx.step.run("b") { throw PaymentDeclined() }
            return try await a + b
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "pair", steps: [Fixtures.memoized("a", "1")], target: "b"))

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == "b")
        #expect(result.stepFailed.error.message == "card declined")
        #expect(!result.stepFailed.error.nonRetriable)
    }

    @Test func targetNeverReachedIsNonDeterministic() async throws {
        let calls = self.calls
        let function = TetherFunction("moved", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            async let a: Int = ctx.step.run("a") { 1 }
            async let renamed: Int = ctx.step.run("b-renamed") {
                calls.record("b-renamed")
                return 2
            }
            return try await a + renamed
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "moved", steps: [Fixtures.memoized("a", "1")], target: "b"))

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == "b")
        #expect(result.stepFailed.error.code == "non_deterministic")
        // Parked until the grace period ended: maybe a starved task, so retried rather than fatal.
        #expect(!result.stepFailed.error.nonRetriable)
        #expect(result.stepFailed.error.message.contains("didn't reach it within"))
        #expect(calls.total == 0)
    }

    @Test func bodyEndingWithoutTheTargetIsNonRetriable() async throws {
        let function = TetherFunction("gone", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            try await ctx.step.run("a") { 1 }
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "gone", steps: [Fixtures.memoized("a", "1")], target: "b"))

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == "b")
        #expect(result.stepFailed.error.code == "non_deterministic")
        #expect(result.stepFailed.error.nonRetriable)
    }

    @Test func targetReachedAsAnotherKindIsNonDeterministic() async throws {
        let function = TetherFunction("kind", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            try await ctx.step.sleep("b", for: .seconds(1))
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "kind", target: "b"))
        #expect(result.stepFailed.stepID == "b")
        #expect(result.stepFailed.error.code == "non_deterministic")
        #expect(result.stepFailed.error.message.contains("step.sleep"))
    }

    @Test func sleepAndRunInParallelArePlannedTogether() async throws {
        let calls = self.calls
        let function = TetherFunction("sleep-and-run", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            async let nap: Void = ctx.step.sleep("nap", for: .seconds(30))
            async let work: Void = ctx.step.run("work") { calls.record("work") }
            _ = try await (nap, work)
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "sleep-and-run"))

        #expect(result.kind == "stepsPlanned")
        #expect(!result.stepsPlanned.hasExecuted)
        #expect(Set(result.plannedOps) == ["nap:sleep", "work:run"])
        #expect(calls.count("work") == 0, "dispatched with the sleep, not run first")
    }

    @Test func aSiblingThatAwaitsBeforeItsStepIsStillCollected() async throws {
        let calls = self.calls
        let function = TetherFunction("late-sibling", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            async let nap: Void = ctx.step.sleep("nap", for: .seconds(30))
            async let late: Void = {
                // Non-step work before the step: the request is quiescent meanwhile (only "nap", parked).
                for _ in 0..<3 { await Task.yield() }
                try await ctx.step.run("late") { calls.record("late") }
            }()
            _ = try await (nap, late)
        }
        // The request ends only when no task of the body can run (`RequestExecutor`), so the sibling is always
        // caught, however late the scheduler starts it.
        var caught = 0
        for _ in 0..<20 {
            let result = await FunctionExecutor(functions: [function]).execute(
                Fixtures.request(function: "late-sibling"))
            #expect(result.kind == "stepsPlanned")
            if Set(result.plannedOps) == ["nap:sleep", "late:run"] { caught += 1 }
        }
        #expect(caught == 20, "caught \(caught) of 20")
        #expect(calls.count("late") == 0)
    }

    @Test func aParkedSiblingDoesNotCancelTheRunningStep() async throws {
        let calls = self.calls
        let function = TetherFunction("no-cancel", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            let (started, signal) = AsyncStream.makeStream(of: Void.self)
            async let slow: Void = ctx.step.run("slow") {
                signal.yield()
                do {
                    try await Task.sleep(for: .milliseconds(5))
                    calls.record(Task.isCancelled ? "cancelled" : "slow")
                } catch {
                    calls.record("cancelled")
                }
            }
            for await _ in started { break }
            // Reached while "slow" runs: it waits instead of throwing, which would cancel "slow".
            try await ctx.step.run("next") { calls.record("next") }
            try await slow
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "no-cancel"))

        #expect(result.kind == "stepCompleted", "one parallel run step after the executed one")
        #expect(result.stepCompleted.stepID == "slow")
        #expect(calls.count("slow") == 1)
        #expect(calls.count("cancelled") == 0)
        #expect(calls.count("next") == 0)
    }

    @Test func aFailingStepAmongSiblingsIsPlannedNotRunFirst() async throws {
        let function = TetherFunction("fails", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            async let nap: Void = ctx.step.sleep("nap", for: .seconds(30))
            async let charge: Void = ctx.step.run("charge") { throw PaymentDeclined() }
            async let other: Void = ctx.step.run("other") {}
            _ = try await (nap, charge, other)
        }
        for _ in 0..<10 {
            let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "fails"))
            // All three go out together; "charge" fails in its own targeted request
            // (`targetedStepThatFailsIsReported`).
            #expect(result.kind == "stepsPlanned")
            #expect(Set(result.plannedOps) == ["nap:sleep", "charge:run", "other:run"])
        }
    }

    @Test func swallowedInterruptsStillEndTheRequest() async throws {
        let calls = self.calls
        let function = TetherFunction("stubborn", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> String in
            for i in 0..<3 {
                do {
                    try await ctx.step.sleep("nap-\(i)", for: .seconds(1))
                } catch {
                    calls.record("swallowed")
                }
            }
            return "returned anyway"
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "stubborn"))

        #expect(result.kind == "stepsPlanned", "the body's later return value is ignored")
        #expect(result.plannedOps == ["nap-0:sleep"])
        #expect(calls.count("swallowed") == 3)
    }
}
