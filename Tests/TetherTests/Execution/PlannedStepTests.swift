import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

struct Payment: Codable, Sendable, Equatable {
    var orderId: String
    var amount: Int
}

@Suite("Planned steps: sleep, waitForEvent, sendEvent and invoke are reported, then replayed")
struct PlannedStepTests {
    let calls = Calls()

    func execute(
        _ body: @escaping @Sendable (Context<OrderCreated>) async throws -> String,
        steps: [Tether_V1_MemoizedStep] = [],
        limits: Limits = .default
    ) async -> Tether_V1_StepResult {
        let function = TetherFunction("planned", trigger: .event("order/created"), body)
        return await FunctionExecutor(functions: [function], limits: limits).execute(
            Fixtures.request(function: "planned", steps: steps))
    }

    // MARK: Sleep

    @Test func sleepIsPlannedWithItsDurationAndTheBodyStopsThere() async throws {
        let calls = self.calls
        let result = await execute { ctx in
            try await ctx.step.sleep("nap", for: .seconds(90))
            try await ctx.step.run("after") { calls.record("after") }
            return "done"
        }

        #expect(result.kind == "stepsPlanned")
        #expect(!result.stepsPlanned.hasExecuted)
        #expect(result.plannedOps == ["nap:sleep"])
        #expect(result.stepsPlanned.ops[0].sleep.durationMs == 90_000)
        #expect(result.stepsPlanned.ops[0].sleep.untilUnixMs == 0)
        #expect(calls.count("after") == 0)
    }

    @Test func sleepAfterANewStepReportsTheExecutedStepWithIt() async throws {
        let calls = self.calls
        let result = await execute { ctx in
            let charge: String = try await ctx.step.run("charge") {
                calls.record("charge")
                return "ch_1"
            }
            try await ctx.step.sleep("nap", for: .milliseconds(1.5))
            return charge
        }

        #expect(result.kind == "stepsPlanned")
        #expect(result.stepsPlanned.executed.stepID == "charge")
        #expect(result.stepsPlanned.executed.output.string == #""ch_1""#)
        #expect(result.plannedOps == ["nap:sleep"])
        #expect(result.stepsPlanned.ops[0].sleep.durationMs == 2, "sub-millisecond parts round up")
        #expect(calls.count("charge") == 1)
    }

    @Test func sleepUntilADateCarriesTheTime() async throws {
        let until = Date().addingTimeInterval(3_600)
        let result = await execute { ctx in
            try await ctx.step.sleep("later", until: until)
            return "done"
        }
        #expect(result.plannedOps == ["later:sleep"])
        #expect(result.stepsPlanned.ops[0].sleep.durationMs == 0)
        #expect(result.stepsPlanned.ops[0].sleep.untilUnixMs == until.unixMilliseconds)
    }

    @Test func zeroSleepIsUntilNowAndAPastDateIsKept() async throws {
        let before = Date().unixMilliseconds
        let result = await execute { ctx in
            async let zero: Void = ctx.step.sleep("zero", for: .zero)
            async let past: Void = ctx.step.sleep("past", until: Date(timeIntervalSince1970: 1_000))
            _ = try await (zero, past)
            return "done"
        }
        let ops = Dictionary(uniqueKeysWithValues: result.stepsPlanned.ops.map { ($0.stepID, $0.sleep) })
        #expect(Set(ops.keys) == ["zero", "past"])
        #expect(ops["zero"]?.durationMs == 0)
        #expect((ops["zero"]?.untilUnixMs ?? 0) >= before, "until now: over at once, and never 0 (unset)")
        #expect(ops["past"]?.untilUnixMs == 1_000_000)
    }

    @Test func storedSleepIsOverAndTheNextStepRuns() async throws {
        let calls = self.calls
        let result = await execute(
            { ctx in
                try await ctx.step.sleep("nap", for: .seconds(90))
                return try await ctx.step.run("after") {
                    calls.record("after")
                    return "woke"
                }
            }, steps: [Fixtures.memoized("nap", "null")])

        #expect(result.kind == "runCompleted")
        #expect(result.runCompleted.lastStep.stepID == "after")
        #expect(result.runCompleted.output.string == #""woke""#)
        #expect(calls.count("after") == 1)
    }

    // MARK: waitForEvent

    @Test func waitIsPlannedWithItsEventMatchAndTimeout() async throws {
        let result = await execute { ctx in
            let payment = try await ctx.step.waitForEvent(
                "wait-for-payment", event: "payment/received", match: "async.data.orderId == event.data.orderId",
                timeout: .seconds(3_600), as: Payment.self)
            return payment?.id ?? "timeout"
        }

        #expect(result.plannedOps == ["wait-for-payment:waitForEvent"])
        let wait = result.stepsPlanned.ops[0].waitForEvent
        #expect(wait.event == "payment/received")
        #expect(wait.match == "async.data.orderId == event.data.orderId")
        #expect(wait.timeoutMs == 3_600_000)
    }

    @Test func storedEventIsDecoded() async throws {
        let stored =
            #"{"id":"evt-9","name":"payment/received","data":{"orderId":"o-1","amount":250},"ts":1700000000999,"v":"2"}"#
        let result = await execute(
            { ctx in
                guard
                    let payment = try await ctx.step.waitForEvent(
                        "wait", event: "payment/received", timeout: .seconds(60), as: Payment.self)
                else { return "timeout" }
                let ts = Int64((payment.ts.timeIntervalSince1970 * 1000).rounded())
                return
                    "\(payment.name) \(payment.id) \(payment.data.orderId) \(payment.data.amount) \(ts) \(payment.v ?? "-")"
            }, steps: [Fixtures.memoized("wait", stored)])

        #expect(result.kind == "runCompleted")
        #expect(result.runCompleted.output.string == #""payment/received evt-9 o-1 250 1700000000999 2""#)
    }

    @Test func storedNullIsATimeout() async throws {
        let result = await execute(
            { ctx in
                let payment = try await ctx.step.waitForEvent(
                    "wait", event: "payment/received", timeout: .seconds(60), as: Payment.self)
                return payment == nil ? "timeout" : "paid"
            }, steps: [Fixtures.memoized("wait", "null")])
        #expect(result.runCompleted.output.string == #""timeout""#)
    }

    @Test func storedEventOfTheWrongShapeIsInvalidInput() async throws {
        let stored = #"{"id":"evt-9","name":"payment/received","data":{"orderId":"o-1"},"ts":1}"#
        let result = await execute(
            { ctx in
                _ = try await ctx.step.waitForEvent(
                    "wait", event: "payment/received", timeout: .seconds(60), as: Payment.self)
                return "paid"
            }, steps: [Fixtures.memoized("wait", stored)])

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.nonRetriable)
        #expect(result.stepFailed.error.message.contains("missing field data.amount"))
    }

    @Test func storedOutputThatIsNoEventIsNonDeterministic() async throws {
        let result = await execute(
            { ctx in
                _ = try await ctx.step.waitForEvent(
                    "wait", event: "payment/received", timeout: .seconds(60), as: Payment.self)
                return "paid"
            }, steps: [Fixtures.memoized("wait", "42")])
        #expect(result.stepFailed.error.code == "non_deterministic")
        #expect(result.stepFailed.error.message.contains("\"wait\""))
    }

    // MARK: sendEvent

    @Test func sendIsPlannedWithItsEvents() async throws {
        let ts = Date(timeIntervalSince1970: 1_800_000_000)
        let result = await execute { ctx in
            let ids = try await ctx.step.sendEvent(
                "notify",
                [
                    OutgoingEvent(name: "order/shipped", data: Payment(orderId: "o-1", amount: 3)),
                    OutgoingEvent(name: "order/audit", data: ["by": "worker"], id: "audit-o-1", ts: ts, v: "7"),
                    OutgoingEvent(name: "cache/flush"),
                ])
            return ids.joined(separator: ",")
        }

        #expect(result.plannedOps == ["notify:sendEvent"])
        let events = result.stepsPlanned.ops[0].sendEvent.events
        #expect(events.map(\.name) == ["order/shipped", "order/audit", "cache/flush"])
        #expect(try Fixtures.decodeJSON(Payment.self, events[0].data) == Payment(orderId: "o-1", amount: 3))
        #expect(events[0].id == "" && events[0].tsUnixMs == 0 && events[0].v == "")
        #expect(events[1].data.string == #"{"by":"worker"}"#)
        #expect(events[1].id == "audit-o-1")
        #expect(events[1].tsUnixMs == 1_800_000_000_000)
        #expect(events[1].v == "7")
        #expect(events[2].data.string == "{}")
    }

    @Test func storedSendReturnsTheIds() async throws {
        let result = await execute(
            { ctx in
                let ids = try await ctx.step.sendEvent(
                    "notify", [OutgoingEvent(name: "a/b"), OutgoingEvent(name: "a/c")])
                let single = try await ctx.step.sendEvent("one", OutgoingEvent(name: "a/d"))
                return (ids + [single]).joined(separator: ",")
            },
            steps: [
                Fixtures.memoized("notify", #"{"ids":["e-1","e-2"]}"#), Fixtures.memoized("one", #"{"ids":["e-3"]}"#),
            ])
        #expect(result.runCompleted.output.string == #""e-1,e-2,e-3""#)
    }

    @Test func sendingNoEventsIsNotAStep() async throws {
        let result = await execute { ctx in
            let ids = try await ctx.step.sendEvent("nothing", [])
            return "sent \(ids.count)"
        }
        #expect(result.kind == "runCompleted")
        #expect(result.runCompleted.output.string == #""sent 0""#)
    }

    // MARK: invoke

    @Test func invokeIsPlannedWithTheFunctionAndItsData() async throws {
        let result = await execute { ctx in
            let receipt = try await ctx.step.invoke(
                "charge", function: "billing:charge-card", data: Payment(orderId: "o-1", amount: 250),
                as: Receipt.self)
            return receipt.chargeId
        }

        #expect(result.plannedOps == ["charge:invoke"])
        let invoke = result.stepsPlanned.ops[0].invoke
        #expect(invoke.functionID == "billing:charge-card")
        #expect(try Fixtures.decodeJSON(Payment.self, invoke.data) == Payment(orderId: "o-1", amount: 250))
    }

    @Test func invokeByFunctionValueUsesItsId() async throws {
        let child = TetherFunction("charge-card", trigger: .event("charge")) { (ctx: Context<Payment>) in
            ctx.event.data.amount
        }
        let result = await execute { ctx in
            try await ctx.step.invoke("charge", function: child, data: Payment(orderId: "o-1", amount: 1))
            return "done"
        }
        #expect(result.stepsPlanned.ops[0].invoke.functionID == "charge-card")
    }

    @Test func storedChildOutputIsReturned() async throws {
        let result = await execute(
            { ctx in
                let receipt = try await ctx.step.invoke(
                    "charge", function: "charge-card", data: ["orderId": "o-1"], as: Receipt.self)
                return receipt.chargeId
            }, steps: [Fixtures.memoized("charge", #"{"orderId":"o-1","chargeId":"ch_7"}"#)])
        #expect(result.runCompleted.output.string == #""ch_7""#)
    }

    @Test func failedChildThrowsAStepErrorTheBodyCanCatch() async throws {
        let calls = self.calls
        let result = await execute(
            { ctx in
                do {
                    _ = try await ctx.step.invoke(
                        "charge", function: "charge-card", data: ["orderId": "o-1"], as: Receipt.self)
                    return "charged"
                } catch let error as StepError {
                    try await ctx.step.run("cancel-order") { calls.record("cancel-order") }
                    return "\(error.stepId)/\(error.code)/\(error.message)"
                }
            },
            steps: [Fixtures.memoizedFailure("charge", code: "cancelled", message: "run r-9 was cancelled")])

        #expect(result.kind == "runCompleted")
        #expect(result.runCompleted.lastStep.stepID == "cancel-order")
        #expect(result.runCompleted.output.string == #""charge/cancelled/run r-9 was cancelled""#)
        #expect(calls.count("cancel-order") == 1)
    }

    @Test func childOutputOfAnotherTypeIsInvalidInput() async throws {
        let result = await execute(
            { ctx in
                let receipt = try await ctx.step.invoke(
                    "charge", function: "charge-card", data: ["orderId": "o-1"], as: Receipt.self)
                return receipt.chargeId
            }, steps: [Fixtures.memoized("charge", "42")])
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.message.contains("charge-card"))
        #expect(result.stepFailed.error.message.contains("Receipt"))
    }

    // MARK: Ids

    @Test func everyKindSharesTheIdSpace() async throws {
        let result = await execute(
            { ctx in
                let first: String = try await ctx.step.run("x") { "ran" }
                try await ctx.step.sleep("x", for: .seconds(1))
                return first
            }, steps: [Fixtures.memoized("x", #""ran""#)])
        #expect(result.plannedOps == ["x:1:sleep"])
    }

    @Test func planningAStepInsideAnotherIsRejected() async throws {
        let result = await execute { ctx in
            try await ctx.step.run("outer") {
                try await ctx.step.sleep("inner", for: .seconds(1))
            }
            return "done"
        }
        #expect(result.stepFailed.stepID == "outer")
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.message.contains("step.sleep(\"inner\")"))
        #expect(result.stepFailed.error.message.contains("can't be nested"))
    }
}
