import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("Failures: step errors, memoized errors, bad input, limits")
struct FunctionExecutorFailureTests {
    let calls = Calls()

    /// A function whose only step throws `error`.
    func failing(_ error: any Error) -> FunctionExecutor {
        let function = TetherFunction("fail", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            try await ctx.step.run("charge") { throw error }
        }
        return FunctionExecutor(functions: [function])
    }

    @Test func stepErrorIsRetriableStepFailed() async throws {
        let result = await failing(PaymentDeclined()).execute(Fixtures.request(function: "fail"))

        #expect(result.kind == "stepFailed")
        let failed = result.stepFailed
        #expect(failed.stepID == "charge")
        #expect(failed.error.code == "step_failed")
        #expect(failed.error.message == "card declined")
        #expect(failed.error.errorType == "PaymentDeclined")
        #expect(!failed.error.nonRetriable)
        #expect(failed.error.retryAtUnixMs == 0)
        #expect(failed.startedAtUnixMs > 0 && failed.endedAtUnixMs >= failed.startedAtUnixMs)
    }

    @Test func nonRetriableErrorStopsRetries() async throws {
        let error = NonRetriableError("order has no amount", cause: PaymentDeclined())
        let result = await failing(error).execute(Fixtures.request(function: "fail"))

        #expect(result.stepFailed.stepID == "charge")
        #expect(result.stepFailed.error.nonRetriable)
        #expect(result.stepFailed.error.code == "step_failed")
        #expect(result.stepFailed.error.errorType == "NonRetriableError")
        #expect(result.stepFailed.error.message == "order has no amount: card declined")
    }

    @Test func retryAfterDurationSetsTheNextAttemptTime() async throws {
        let before = Date().unixMilliseconds
        let result = await failing(RetryAfterError("rate limited", after: .seconds(30))).execute(
            Fixtures.request(function: "fail"))
        let after = Date().unixMilliseconds

        let error = result.stepFailed.error
        #expect(!error.nonRetriable)
        #expect(error.errorType == "RetryAfterError")
        #expect(error.message == "rate limited")
        #expect(error.retryAtUnixMs >= before + 30_000 && error.retryAtUnixMs <= after + 30_000)
    }

    @Test func retryAfterDateSetsTheNextAttemptTime() async throws {
        let at = Date(timeIntervalSince1970: 1_900_000_000)
        let result = await failing(RetryAfterError("maintenance", at: at)).execute(Fixtures.request(function: "fail"))
        #expect(result.stepFailed.error.retryAtUnixMs == 1_900_000_000_000)
    }

    @Test func memoizedFailureThrowsStepErrorThatUserCodeCanHandle() async throws {
        let calls = self.calls
        let function = TetherFunction("compensate", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> String in
            do {
                try await ctx.step.run("charge") { calls.record("charge") }
                return "charged"
            } catch let error as StepError {
                let reason: String = try await ctx.step.run("cancel-order") {
                    calls.record("cancel-order")
                    return "\(error.stepId)/\(error.code)/\(error.errorType)/\(error.message)"
                }
                return reason
            }
        }
        let result = await FunctionExecutor(functions: [function]).execute(
            Fixtures.request(function: "compensate", steps: [Fixtures.memoizedFailure("charge")])
        )

        #expect(result.kind == "runCompleted")
        #expect(result.runCompleted.lastStep.stepID == "cancel-order")
        #expect(result.runCompleted.output.string == #""charge/step_failed/PaymentDeclined/card declined""#)
        #expect(calls.count("charge") == 0)
        #expect(calls.count("cancel-order") == 1)
    }

    @Test func uncaughtMemoizedFailureFailsTheRun() async throws {
        let result = await Fixtures.processOrderExecutor(calls).execute(
            Fixtures.request(steps: [
                Fixtures.memoizedFailure("reserve-stock", message: "out of stock", errorType: "StockError")
            ])
        )

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == "", "the body threw, not a step")
        #expect(result.stepFailed.error.nonRetriable, "replaying gives the same failure")
        #expect(result.stepFailed.error.code == "step_failed")
        #expect(result.stepFailed.error.errorType == "StockError")
        #expect(result.stepFailed.error.message.contains("out of stock"))
        #expect(calls.total == 0)
    }

    @Test func bodyThrowingOutsideStepsFailsWithEmptyStepId() async throws {
        let function = TetherFunction("body", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            guard ctx.event.data.amount < 100 else { throw PaymentDeclined() }
            return 1
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "body"))

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == "")
        #expect(result.stepFailed.error.code == "step_failed")
        #expect(result.stepFailed.error.errorType == "PaymentDeclined")
        #expect(!result.stepFailed.error.nonRetriable)
    }

    @Test func bodyThrowingAfterANewStepStillReportsTheStep() async throws {
        let calls = self.calls
        let function = TetherFunction("late", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            try await ctx.step.run("charge") { calls.record("charge") }
            throw PaymentDeclined()
        }
        let executor = FunctionExecutor(functions: [function])

        let first = await executor.execute(Fixtures.request(function: "late"))
        #expect(first.kind == "stepCompleted", "the charge must be stored so it never runs again")
        #expect(first.stepCompleted.stepID == "charge")

        let second = await executor.execute(
            Fixtures.request(function: "late", steps: [Fixtures.memoized("charge", "null")]))
        #expect(second.kind == "stepFailed")
        #expect(second.stepFailed.stepID == "")
        #expect(calls.count("charge") == 1)
    }

    @Test func failedStepStopsTheBodyEvenIfItCatches() async throws {
        let calls = self.calls
        let function = TetherFunction("catching", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> String in
            do {
                try await ctx.step.run("charge") { throw PaymentDeclined() }
            } catch {
                try await ctx.step.run("refund") { calls.record("refund") }
            }
            return "ok"
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "catching"))

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == "charge")
        #expect(calls.count("refund") == 0, "compensation runs once the failure is final, as a memoized StepError")
    }

    @Test func undecodableEventIsInvalidInput() async throws {
        let result = await Fixtures.processOrderExecutor(calls).execute(Fixtures.request(data: #"{"amount":"ten"}"#))

        #expect(result.kind == "stepFailed")
        let error = result.stepFailed.error
        #expect(result.stepFailed.stepID == "")
        #expect(error.code == "invalid_input")
        #expect(error.nonRetriable)
        #expect(error.errorType == "EventDecodingError")
        #expect(error.message.contains("OrderCreated"))
        #expect(error.message.contains("order/created"))
        #expect(error.message.contains("data.orderId") || error.message.contains("data.amount"))
        #expect(calls.total == 0)
    }

    @Test func decodingReasonNamesTheField() async throws {
        let missing = await Fixtures.processOrderExecutor(calls).execute(Fixtures.request(data: #"{"amount":1}"#))
        #expect(missing.stepFailed.error.message.contains("missing field data.orderId"))

        let mistyped = await Fixtures.processOrderExecutor(calls).execute(
            Fixtures.request(data: #"{"orderId":"o","amount":"ten"}"#)
        )
        #expect(mistyped.stepFailed.error.message.contains("data.amount"))

        let notJSON = await Fixtures.processOrderExecutor(calls).execute(Fixtures.request(data: "nope"))
        #expect(notJSON.stepFailed.error.code == "invalid_input")
    }

    @Test func unknownFunctionIsFunctionNotFound() async throws {
        let result = await Fixtures.processOrderExecutor(calls).execute(Fixtures.request(function: "gone"))

        #expect(result.requestID == "req-1")
        #expect(result.runID == "run-1")
        #expect(result.stepFailed.stepID == "")
        #expect(result.stepFailed.error.code == "function_not_found")
        #expect(result.stepFailed.error.nonRetriable)
        #expect(result.stepFailed.error.message.contains("\"gone\""))
        #expect(result.stepFailed.error.message.contains("\"process-order\""))
    }

    @Test func stepOutputOverTheLimitIsOutputTooLarge() async throws {
        var limits = Limits()
        limits.maxStepOutputBytes = 64
        let function = TetherFunction("big", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> Int in
            let blob: String = try await ctx.step.run("blob") { String(repeating: "x", count: 100) }
            return blob.count
        }
        let result = await FunctionExecutor(functions: [function], limits: limits).execute(
            Fixtures.request(function: "big"))

        #expect(result.kind == "stepFailed")
        #expect(result.stepFailed.stepID == "blob")
        #expect(result.stepFailed.error.code == "output_too_large")
        #expect(result.stepFailed.error.nonRetriable)
        #expect(result.stepFailed.error.message.contains("102 bytes"))
    }

    @Test func returnValueOverTheLimitIsOutputTooLarge() async throws {
        var limits = Limits()
        limits.maxStepOutputBytes = 64
        let function = TetherFunction("big-return", trigger: .event("e")) { (ctx: Context<OrderCreated>) -> String in
            String(repeating: "x", count: 100)
        }
        let result = await FunctionExecutor(functions: [function], limits: limits).execute(
            Fixtures.request(function: "big-return")
        )
        #expect(result.stepFailed.stepID == "")
        #expect(result.stepFailed.error.code == "output_too_large")
    }

    @Test func memoizedOutputOfAnotherTypeIsNonDeterministic() async throws {
        let result = await Fixtures.processOrderExecutor(calls).execute(
            Fixtures.request(steps: [Fixtures.memoized("reserve-stock", #""a string, not a Reservation""#)])
        )
        #expect(result.stepFailed.error.code == "non_deterministic")
        #expect(result.stepFailed.error.nonRetriable)
        #expect(result.stepFailed.error.message.contains("reserve-stock"))
        #expect(calls.total == 0)
    }

    @Test func nestedStepsAreRejected() async throws {
        let function = TetherFunction("nested", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            try await ctx.step.run("outer") {
                try await ctx.step.run("inner") {}
            }
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "nested"))
        #expect(result.stepFailed.stepID == "outer")
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.message.contains("can't be nested"))
    }

    @Test func emptyStepIdIsRejected() async throws {
        let function = TetherFunction("empty-id", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            try await ctx.step.run("") {}
        }
        let result = await FunctionExecutor(functions: [function]).execute(Fixtures.request(function: "empty-id"))
        #expect(result.stepFailed.error.code == "invalid_input")
        #expect(result.stepFailed.error.nonRetriable)
    }

    @Test func tooManyStepsIsRejected() async throws {
        var limits = Limits()
        limits.maxStepsPerRun = 2
        let function = TetherFunction("many", trigger: .event("e")) { (ctx: Context<OrderCreated>) in
            for _ in 0..<3 { try await ctx.step.run("s") {} }
        }
        let result = await FunctionExecutor(functions: [function], limits: limits).execute(
            Fixtures.request(
                function: "many", steps: [Fixtures.memoized("s", "null"), Fixtures.memoized("s:1", "null")])
        )
        #expect(result.stepFailed.stepID == "s:2")
        #expect(result.stepFailed.error.code == "too_many_steps")
    }
}

extension Fixtures {
    static func processOrderExecutor(_ calls: Calls) -> FunctionExecutor {
        FunctionExecutor(functions: [processOrder(calls)])
    }
}
