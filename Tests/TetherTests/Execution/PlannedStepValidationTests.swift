import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

/// A step call with invalid arguments, and what its failure must say.
struct InvalidStepCall: Sendable, CustomTestStringConvertible {
    var name: String
    var stepId: String
    var fragment: String
    var body: @Sendable (Context<OrderCreated>) async throws -> Void

    var testDescription: String { name }

    static var limits: Limits {
        var limits = Limits()
        limits.maxEventsPerSend = 2
        limits.maxEventBytes = 64
        return limits
    }

    static let all: [InvalidStepCall] = [
        InvalidStepCall(name: "negative sleep", stepId: "nap", fragment: "negative duration") { ctx in
            try await ctx.step.sleep("nap", for: .seconds(-5))
        },
        InvalidStepCall(name: "sleep over a year", stepId: "nap", fragment: "longer than the limit") { ctx in
            try await ctx.step.sleep("nap", for: .seconds(367 * 86_400))
        },
        InvalidStepCall(name: "sleep until over a year", stepId: "nap", fragment: "more than a year") { ctx in
            try await ctx.step.sleep("nap", until: Date().addingTimeInterval(367 * 86_400))
        },
        InvalidStepCall(name: "bad match expression", stepId: "wait", fragment: "invalid expression") { ctx in
            _ = try await ctx.step.waitForEvent(
                "wait", event: "payment/received", match: "async.data.x = 1", timeout: .seconds(1), as: Payment.self)
        },
        InvalidStepCall(name: "bad event name", stepId: "wait", fragment: "whitespace") { ctx in
            _ = try await ctx.step.waitForEvent("wait", event: "pay ment", timeout: .seconds(1), as: Payment.self)
        },
        InvalidStepCall(name: "wait for a prefix", stepId: "wait", fragment: "exactly") { ctx in
            _ = try await ctx.step.waitForEvent("wait", event: "payment/*", timeout: .seconds(1), as: Payment.self)
        },
        InvalidStepCall(name: "zero timeout", stepId: "wait", fragment: "from 1 ms") { ctx in
            _ = try await ctx.step.waitForEvent("wait", event: "payment/received", timeout: .zero, as: Payment.self)
        },
        InvalidStepCall(name: "event data not an object", stepId: "send", fragment: "JSON object") { ctx in
            _ = try await ctx.step.sendEvent("send", OutgoingEvent(name: "a/b", data: [1, 2, 3]))
        },
        InvalidStepCall(name: "event data too large", stepId: "send", fragment: "the limit is 64") { ctx in
            _ = try await ctx.step.sendEvent(
                "send", OutgoingEvent(name: "a/b", data: ["blob": String(repeating: "x", count: 100)]))
        },
        InvalidStepCall(name: "too many events", stepId: "send", fragment: "the limit is 2") { ctx in
            _ = try await ctx.step.sendEvent("send", Array(repeating: OutgoingEvent(name: "a/b"), count: 3))
        },
        InvalidStepCall(name: "sent event name with a star", stepId: "send", fragment: "event 2") { ctx in
            _ = try await ctx.step.sendEvent("send", [OutgoingEvent(name: "a/b"), OutgoingEvent(name: "a/*")])
        },
        InvalidStepCall(name: "data that doesn't encode", stepId: "send", fragment: "doesn't encode") { ctx in
            _ = try await ctx.step.sendEvent("send", OutgoingEvent(name: "a/b", data: ["x": Double.nan]))
        },
        InvalidStepCall(name: "bad invoked function id", stepId: "call", fragment: "app:slug") { ctx in
            try await ctx.step.invoke("call", function: "a:b:c", data: ["x": 1])
        },
        InvalidStepCall(name: "invoke data not an object", stepId: "call", fragment: "JSON object") { ctx in
            try await ctx.step.invoke("call", function: "child", data: 5)
        },
    ]
}

@Suite("Planned steps: invalid arguments fail the run at once, naming the step")
struct PlannedStepValidationTests {
    @Test(arguments: InvalidStepCall.all)
    func invalidCallFailsTheRun(call: InvalidStepCall) async throws {
        let calls = Calls()
        let function = TetherFunction("invalid", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            try await call.body(ctx)
            try await ctx.step.run("after") { calls.record("after") }
        }
        let result = await FunctionExecutor(functions: [function], limits: InvalidStepCall.limits).execute(
            Fixtures.request(function: "invalid"))

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == call.stepId)
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.nonRetriable)
        #expect(result.stepFailed.error.message.contains("\"\(call.stepId)\""), "the message names the step")
        #expect(result.stepFailed.error.message.contains(call.fragment), "\(result.stepFailed.error.message)")
        #expect(calls.total == 0)
    }

    @Test(arguments: InvalidStepCall.all)
    func invalidCallThrowsInAUnitTestContext(call: InvalidStepCall) async throws {
        let context = Context(events: [Event(name: "e", data: OrderCreated(orderId: "o", amount: 1))])
        await #expect {
            // The unit-test context has the default limits: shrink the cases that depend on them.
            if call.name == "too many events" {
                _ = try await context.step.sendEvent("send", Array(repeating: OutgoingEvent(name: "a/b"), count: 1_001))
            } else if call.name == "event data too large" {
                _ = try await context.step.sendEvent(
                    "send", OutgoingEvent(name: "a/b", data: ["blob": String(repeating: "x", count: 600_000)]))
            } else {
                try await call.body(context)
            }
        } throws: { error in
            guard let error = error as? TetherError else { return false }
            return error.code == .invalidInput && error.message.contains("\"\(call.stepId)\"")
        }
    }

    @Test func anInvalidStepStopsItsSiblingsWithoutCancellingTheRunningOne() async throws {
        let calls = Calls()
        let function = TetherFunction("mixed-invalid", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            let (started, signal) = AsyncStream.makeStream(of: Void.self)
            async let running: Void = ctx.step.run("slow") {
                signal.yield()
                do {
                    try await Task.sleep(for: .milliseconds(5))
                    calls.record(Task.isCancelled ? "cancelled" : "slow")
                } catch {
                    calls.record("cancelled")
                }
            }
            for await _ in started { break }
            // Throwing here at once would leave the scope and cancel `running` mid-step.
            try await ctx.step.sleep("nap", for: .seconds(-1))
            try await running
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "mixed-invalid"))

        #expect(result.kind == "stepCompleted", "the executed step is reported; the failure recurs on replay")
        #expect(result.stepCompleted.stepID == "slow")
        #expect(calls.count("slow") == 1)
        #expect(calls.count("cancelled") == 0)
    }
}
