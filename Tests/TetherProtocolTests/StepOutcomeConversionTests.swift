import Foundation
import Testing
import TetherEngine
import TetherProtocol

/// `StepOutcome(Tether_V1_StepResult)`: what the coordinator makes of a worker's result before
/// the scheduler sees it. Outputs must be UTF-8 JSON, and a result must report progress.
@Suite("Engine conversions: step results")
struct StepOutcomeConversionTests {
    static func completed(_ stepId: String, _ output: [UInt8]) -> Tether_V1_StepCompleted {
        .with {
            $0.stepID = stepId
            $0.output = Data(output)
            $0.startedAtUnixMs = 10
            $0.endedAtUnixMs = 20
        }
    }

    static func result(_ outcome: Tether_V1_StepResult.OneOf_Outcome) -> Tether_V1_StepResult {
        .with {
            $0.requestID = "r1"
            $0.runID = "run1"
            $0.outcome = outcome
        }
    }

    static func stepCompleted(_ stepId: String, _ output: [UInt8]) -> Tether_V1_StepResult {
        result(.stepCompleted(completed(stepId, output)))
    }

    static func runCompleted(lastStep: Tether_V1_StepCompleted?, output: [UInt8]) -> Tether_V1_StepResult {
        var run = Tether_V1_RunCompleted()
        if let lastStep { run.lastStep = lastStep }
        run.output = Data(output)
        return result(.runCompleted(run))
    }

    static func stepsPlanned(executed: Tether_V1_StepCompleted?, ops: [Tether_V1_StepOp]) -> Tether_V1_StepResult {
        var planned = Tether_V1_StepsPlanned()
        if let executed { planned.executed = executed }
        planned.ops = ops
        return result(.stepsPlanned(planned))
    }

    static let sleepOp = Tether_V1_StepOp.with {
        $0.stepID = "nap"
        $0.sleep = .with { $0.durationMs = 1_000 }
    }

    /// The failure an outcome must be, or nil with an issue recorded.
    static func failure(_ outcome: StepOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> StepFailure? {
        guard case .stepFailed(let failure) = outcome else {
            Issue.record("expected stepFailed, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        return failure
    }

    static let invalidOutputs: [(name: String, bytes: [UInt8])] = [
        ("{{{", Array("{{{".utf8)), ("empty", []), ("bare word", Array("hello".utf8)),
        ("trailing comma", Array("[1,]".utf8)),
        ("two documents", Array("1 2".utf8)), ("invalid UTF-8", [0x22, 0xFF, 0x22]), ("NaN", Array("NaN".utf8)),
        ("duplicate key", Array(#"{"a":1,"a":2}"#.utf8)),
    ]

    @Test("a step_completed whose output is not UTF-8 JSON is a non-retriable invalid_output failure of that step")
    func stepCompletedInvalidOutput() throws {
        for (name, bytes) in Self.invalidOutputs {
            let outcome = try StepOutcome(Self.stepCompleted("charge", bytes))
            let failure = try #require(Self.failure(outcome), "\(name)")
            #expect(failure.stepId == "charge", "\(name)")
            #expect(failure.error.code == ErrorCode.invalidOutput.rawValue, "\(name)")
            #expect(failure.error.code == "invalid_output")
            #expect(failure.nonRetriable, "\(name)")
            #expect(failure.retryAtMilliseconds == nil)
            #expect(failure.startedAtMilliseconds == 10 && failure.endedAtMilliseconds == 20)
            #expect(failure.error.message.contains("step 'charge'"), "\(failure.error.message)")
            #expect(failure.error.message.contains("not UTF-8 JSON"), "\(failure.error.message)")
        }
        let empty = try #require(Self.failure(try StepOutcome(Self.stepCompleted("charge", []))))
        #expect(empty.error.message.contains("empty") && empty.error.message.contains("null"), "\(empty.error.message)")
        let braces = try #require(Self.failure(try StepOutcome(Self.stepCompleted("charge", Array("{{{".utf8)))))
        #expect(braces.error.message.hasSuffix("at byte 1"), "\(braces.error.message)")
    }

    @Test(
        "what the Swift SDK sends converts unchanged: JSONEncoder's output of any value, null for Void",
        arguments: [
            "null", "0", "-0", "1.5e+300", "\"text\"", #""line\nbreak \"quoted\" café 中文 😀""#, "[]", "{}", " [1, 2] ",
            #"{"a":{"b":[true,false,null]}}"#,
        ])
    func validOutputs(output: String) throws {
        let bytes = Array(output.utf8)
        #expect(
            try StepOutcome(Self.stepCompleted("s", bytes))
                == .stepCompleted(
                    StepCompletion(stepId: "s", output: bytes, startedAtMilliseconds: 10, endedAtMilliseconds: 20)))
        #expect(
            try StepOutcome(Self.runCompleted(lastStep: nil, output: bytes))
                == .runCompleted(lastStep: nil, output: bytes))
    }

    @Test("Foundation's JSONEncoder output (what the SDK stores) is valid output")
    func encoderOutputs() throws {
        struct Receipt: Codable {
            var id: String
            var amount: Double
            var lines: [String]
            var note: String?
            var at: Date
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let values: [any Encodable] = [
            Receipt(
                id: "r/1", amount: 12.5, lines: ["a\n\"b\"", "é", "\u{1}"], note: nil,
                at: Date(timeIntervalSince1970: 1)),
            Optional<Int>.none as Int?, [String: Int](), [Double.greatestFiniteMagnitude, -0.0, 1e-300], "\u{0}\u{1F}",
        ]
        for value in values {
            let bytes = Array(try encoder.encode(value))
            guard case .stepCompleted = try StepOutcome(Self.stepCompleted("s", bytes)) else {
                Issue.record("\(String(decoding: bytes, as: UTF8.self)) was refused")
                continue
            }
        }
    }

    @Test("steps_planned.executed with an output that is not JSON fails that step; its ops are not planned")
    func executedInvalidOutput() throws {
        let outcome = try StepOutcome(
            Self.stepsPlanned(executed: Self.completed("fetch", Array("{{{".utf8)), ops: [Self.sleepOp]))
        let failure = try #require(Self.failure(outcome))
        #expect(failure.stepId == "fetch")
        #expect(failure.error.code == "invalid_output")
        #expect(failure.nonRetriable)

        let valid = try StepOutcome(
            Self.stepsPlanned(executed: Self.completed("fetch", Array("1".utf8)), ops: [Self.sleepOp]))
        #expect(
            valid
                == .stepsPlanned(
                    executed: StepCompletion(
                        stepId: "fetch", output: Array("1".utf8), startedAtMilliseconds: 10, endedAtMilliseconds: 20),
                    steps: [
                        PlannedStep(stepId: "nap", operation: .sleep(durationMilliseconds: 1_000, untilMilliseconds: 0))
                    ]))
    }

    @Test("run_completed.last_step with an output that is not JSON fails that step")
    func lastStepInvalidOutput() throws {
        let outcome = try StepOutcome(
            Self.runCompleted(lastStep: Self.completed("receipt", Array("{{{".utf8)), output: Array("{}".utf8)))
        let failure = try #require(Self.failure(outcome))
        #expect(failure.stepId == "receipt")
        #expect(failure.error.code == "invalid_output")
        #expect(failure.nonRetriable)
    }

    @Test("run_completed whose output is not JSON is a non-retriable invalid_output failure with an empty step id")
    func runOutputInvalid() throws {
        for (name, bytes) in Self.invalidOutputs {
            for lastStep in [nil, Self.completed("receipt", Array("true".utf8))] {
                let failure = try #require(
                    Self.failure(try StepOutcome(Self.runCompleted(lastStep: lastStep, output: bytes))))
                #expect(failure.stepId.isEmpty, "\(name)")
                #expect(failure.error.code == "invalid_output", "\(name)")
                #expect(failure.nonRetriable, "\(name)")
                #expect(failure.error.message.contains("the function's output"), "\(failure.error.message)")
            }
        }
        let valid = try StepOutcome(
            Self.runCompleted(lastStep: Self.completed("receipt", Array("true".utf8)), output: Array("{}".utf8)))
        #expect(
            valid
                == .runCompleted(
                    lastStep: StepCompletion(
                        stepId: "receipt", output: Array("true".utf8), startedAtMilliseconds: 10,
                        endedAtMilliseconds: 20),
                    output: Array("{}".utf8)))
    }

    @Test("a steps_planned with neither ops nor an executed step is a protocol_error")
    func emptyStepsPlanned() throws {
        #expect {
            _ = try StepOutcome(Self.stepsPlanned(executed: nil, ops: []))
        } throws: { error in
            guard let error = error as? TetherError else { return false }
            return error.code == .protocolError && error.message.contains("steps_planned")
        }
        // Either one alone is progress.
        let opsOnly = try StepOutcome(Self.stepsPlanned(executed: nil, ops: [Self.sleepOp]))
        #expect(
            opsOnly
                == .stepsPlanned(
                    executed: nil,
                    steps: [
                        PlannedStep(stepId: "nap", operation: .sleep(durationMilliseconds: 1_000, untilMilliseconds: 0))
                    ]))
        let executedOnly = try StepOutcome(Self.stepsPlanned(executed: Self.completed("a", Array("1".utf8)), ops: []))
        #expect(
            executedOnly
                == .stepsPlanned(
                    executed: StepCompletion(
                        stepId: "a", output: Array("1".utf8), startedAtMilliseconds: 10, endedAtMilliseconds: 20),
                    steps: []))
    }

    @Test("protocol errors come before output checks")
    func protocolErrorsFirst() {
        #expect(throws: TetherError.self) { try StepOutcome(Self.stepCompleted("", Array("{{{".utf8))) }
        var badOp = Self.sleepOp
        badOp.stepID = ""
        #expect(throws: TetherError.self) {
            try StepOutcome(Self.stepsPlanned(executed: Self.completed("a", Array("{{{".utf8)), ops: [badOp]))
        }
        #expect(throws: TetherError.self) { try StepOutcome(Tether_V1_StepResult()) }
    }

    @Test("through the scheduler: an invalid function output fails the run with invalid_output, not completed")
    func schedulerFailsTheRun() throws {
        var core = CoordinatorCore(seed: 1)
        let now: Int64 = 1_700_000_000_000
        let function = FunctionDefinition(
            app: "shop", slug: "order", name: "", triggers: [.event(name: "order/created", expression: nil)])
        let registered = core.apply(
            .register(
                WorkerRegistration(connectionId: "c1", instanceId: "w1", app: "shop", capacity: 1, functions: [function])),
            now: now)
        #expect(registered.reply == .none)
        let ingested = core.apply(.ingest([IncomingEvent(name: "order/created", data: Array("{}".utf8))], known: [:]), now: now)
        let dispatch = try #require(
            ingested.messages.compactMap { message -> StepDispatch? in
                if case .dispatch(let dispatch) = message { dispatch } else { nil }
            }.first)
        var wire = Self.runCompleted(lastStep: nil, output: Array("{{{".utf8))
        wire.requestID = dispatch.requestId
        wire.runID = dispatch.run.id
        let effects = core.apply(
            .result(connectionId: "c1", requestId: dispatch.requestId, runId: dispatch.run.id, outcome: try StepOutcome(wire)),
            now: now + 1)
        #expect(
            effects.messages.contains(.resultAck(connectionId: "c1", requestId: dispatch.requestId, accepted: true)))
        let stored = effects.writes.compactMap { write -> RunRecord? in
            if case .putRun(let run, _, _) = write, run.id == dispatch.run.id { run } else { nil }
        }.last
        let run = try #require(stored)
        #expect(run.status == .failed)
        #expect(run.error?.code == "invalid_output")
        #expect(run.output == nil)
    }
}
