import Foundation
import SwiftProtobuf
import Testing
import TetherEngine
import TetherProtocol

@testable import TetherStore

/// The headers and steps written on every step are encoded by hand (`ProtoWriter`): their bytes
/// must be exactly SwiftProtobuf's, and read back to the same records.
@Suite("Record coding: hand-written wire format")
struct RecordCodingTests {
    static let event = EventRecord(
        id: "01EVENT", name: "order/created", data: Array(#"{"n":1}"#.utf8), timestampMilliseconds: 1_000, version: "")

    static var runs: [RunRecord] {
        var plain = RunRecord(
            id: "01RUN", functionId: "shop:process-order", app: "shop", functionSlug: "process-order", status: .queued,
            events: [event], createdAtMilliseconds: 1_000, maxAttempts: 3)
        var running = plain
        running.status = .running
        running.startedAtMilliseconds = 1_005
        running.attempt = 2
        running.nextAttemptAtMilliseconds = 9_000
        running.lastRequestId = "01REQUEST"
        running.steps = [StepRecord(id: "a", status: .completed, attempts: 1, output: Array("1".utf8))]
        running.continuationLease = LeaseRecord(
            requestId: "01NEXT", runId: "01RUN", stepId: "", instanceId: "worker-1", app: "shop",
            dispatchedAtMilliseconds: 1_010)
        var ended = running
        ended.status = .failed
        ended.continuationLease = nil
        ended.endedAtMilliseconds = 2_000
        ended.error = RunError(code: "step_failed", message: "boom", type: "PaymentError")
        var completed = running
        completed.status = .completed
        completed.continuationLease = nil
        completed.output = Array(#"{"ok":true}"#.utf8)
        var child = running
        child.parentRunId = "01PARENT"
        child.parentStepId = "invoke-1"
        child.events = [event, event]
        // Ids the function id does not say (never made by the engine, but readable).
        var odd = running
        odd.functionId = "other:fn"
        odd.continuationLease?.app = "billing"
        var emptyError = ended
        emptyError.error = RunError(code: "", message: "", type: "")
        plain.maxAttempts = 0
        return [plain, running, ended, child, odd, emptyError, completed]
    }

    @Test("a run's header: the same bytes as SwiftProtobuf's, and the same run read back")
    func header() throws {
        for run in Self.runs {
            let expected: [UInt8] = try RecordCoding.encodeHeader(run).serializedBytes()
            #expect(RecordCoding.headerBytes(run) == expected, "\(run.id) \(run.functionId)")
            var decoded = RecordCoding.decodeHeader(try Tether_V1_StoredRun(serializedBytes: RecordCoding.headerBytes(run)))
            decoded.events = run.events
            decoded.steps = run.steps
            #expect(decoded == run)
        }
    }

    @Test("app and slug are left out when the function id says them, and kept otherwise")
    func derivedAppAndSlug() throws {
        let runs = Self.runs
        let stored = try Tether_V1_StoredRun(serializedBytes: RecordCoding.headerBytes(runs[1]))
        #expect(stored.app.isEmpty && stored.functionSlug.isEmpty)
        let odd = try Tether_V1_StoredRun(serializedBytes: RecordCoding.headerBytes(runs[4]))
        #expect(odd.app == "shop" && odd.functionSlug == "process-order")
        // A header written whole by an earlier build reads the same.
        var whole = RecordCoding.encodeHeader(runs[1])
        whole.app = "shop"
        whole.functionSlug = "process-order"
        var decoded = RecordCoding.decodeHeader(whole)
        decoded.events = runs[1].events
        decoded.steps = runs[1].steps
        #expect(decoded == runs[1])
    }

    @Test("a step: the same bytes as SwiftProtobuf's")
    func step() throws {
        let steps = [
            StepRecord(id: "a", status: .completed, attempts: 1, output: Array("1".utf8)),
            StepRecord(
                id: "b", status: .failed, attempts: 3, output: [], error: RunError(code: "x", message: "y", type: "z"),
                worker: "w-1", startedAtMilliseconds: 5, endedAtMilliseconds: 9, kind: .sleep, dueAtMilliseconds: 12,
                nextAttemptAtMilliseconds: 40, waitEvent: "e", waitMatch: "async.a == event.b", childRunId: "c"),
            StepRecord(id: "", status: .pending, attempts: 0, output: []),
        ]
        for step in steps {
            let expected: [UInt8] = try RecordCoding.encode(step).serializedBytes()
            #expect(RecordCoding.stepBytes(step) == expected, "\(step.id)")
            #expect(RecordCoding.decode(try Tether_V1_StoredStep(serializedBytes: RecordCoding.stepBytes(step))) == step)
        }
    }
}
