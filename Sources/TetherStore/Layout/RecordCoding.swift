import Foundation
import SwiftProtobuf
import TetherEngine
import TetherProtocol

/// Converts between the engine's records and the protobuf messages stored in RocksDB.
enum RecordCoding {
    static func encode(_ event: EventRecord) -> Tether_V1_Event {
        var message = Tether_V1_Event()
        message.id = event.id
        message.name = event.name
        message.data = Data(event.data)
        message.tsUnixMs = event.timestampMilliseconds
        message.v = event.version
        return message
    }

    static func decode(_ message: Tether_V1_Event) -> EventRecord {
        EventRecord(
            id: message.id, name: message.name, data: Array(message.data), timestampMilliseconds: message.tsUnixMs,
            version: message.v)
    }

    static func encode(_ error: RunError?) -> Tether_V1_StoredError? {
        guard let error else { return nil }
        var message = Tether_V1_StoredError()
        message.code = error.code
        message.message = error.message
        message.errorType = error.type
        return message
    }

    static func decode(_ message: Tether_V1_StoredError) -> RunError {
        RunError(code: message.code, message: message.message, type: message.errorType)
    }

    static func encode(_ step: StepRecord) -> Tether_V1_StoredStep {
        var message = Tether_V1_StoredStep()
        message.id = step.id
        message.status = step.status.rawValue
        message.attempts = UInt32(clamping: step.attempts)
        message.output = Data(step.output)
        if let error = encode(step.error) { message.error = error }
        message.worker = step.worker
        message.startedAtUnixMs = step.startedAtMilliseconds
        message.endedAtUnixMs = step.endedAtMilliseconds
        message.kind = step.kind == .run ? "" : step.kind.rawValue
        message.dueAtUnixMs = step.dueAtMilliseconds
        message.nextAttemptAtUnixMs = step.nextAttemptAtMilliseconds
        message.waitEvent = step.waitEvent
        message.waitMatch = step.waitMatch
        message.childRunID = step.childRunId
        return message
    }

    static func decode(_ message: Tether_V1_StoredStep) -> StepRecord {
        StepRecord(
            id: message.id, status: StepStatus(rawValue: message.status) ?? .failed, attempts: Int(message.attempts),
            output: Array(message.output), error: message.hasError ? decode(message.error) : nil,
            worker: message.worker, startedAtMilliseconds: message.startedAtUnixMs,
            endedAtMilliseconds: message.endedAtUnixMs, kind: StepKind(rawValue: message.kind) ?? .run,
            dueAtMilliseconds: message.dueAtUnixMs, nextAttemptAtMilliseconds: message.nextAttemptAtUnixMs,
            waitEvent: message.waitEvent, waitMatch: message.waitMatch, childRunId: message.childRunID)
    }

    static func encode(_ lease: LeaseRecord) -> Tether_V1_StoredLease {
        var stored = Tether_V1_StoredLease()
        stored.requestID = lease.requestId
        stored.runID = lease.runId
        stored.stepID = lease.stepId
        stored.instanceID = lease.instanceId
        stored.app = lease.app
        stored.dispatchedAtUnixMs = lease.dispatchedAtMilliseconds
        return stored
    }

    static func decode(_ stored: Tether_V1_StoredLease) -> LeaseRecord {
        LeaseRecord(
            requestId: stored.requestID, runId: stored.runID, stepId: stored.stepID, instanceId: stored.instanceID,
            app: stored.app, dispatchedAtMilliseconds: stored.dispatchedAtUnixMs)
    }

    static func encodeHeader(_ run: RunRecord) -> Tether_V1_StoredRun {
        var message = Tether_V1_StoredRun()
        message.id = run.id
        message.functionID = run.functionId
        message.app = run.app
        message.functionSlug = run.functionSlug
        message.status = run.status.rawValue
        message.eventIds = run.events.map(\.id)
        if let output = run.output { message.output = Data(output) }
        if let error = encode(run.error) { message.error = error }
        message.createdAtUnixMs = run.createdAtMilliseconds
        message.startedAtUnixMs = run.startedAtMilliseconds
        message.endedAtUnixMs = run.endedAtMilliseconds
        message.attempt = UInt32(clamping: run.attempt)
        message.maxAttempts = UInt32(clamping: run.maxAttempts)
        message.stepCount = UInt32(clamping: run.steps.count)
        message.nextAttemptAtUnixMs = run.nextAttemptAtMilliseconds
        message.lastRequestID = run.lastRequestId
        message.parentRunID = run.parentRunId
        message.parentStepID = run.parentStepId
        if let lease = run.continuationLease {
            // Only what the header does not say already: the run and its app are the header's.
            var stored = Tether_V1_StoredLease()
            stored.requestID = lease.requestId
            stored.instanceID = lease.instanceId
            if lease.app != run.app { stored.app = lease.app }
            stored.dispatchedAtUnixMs = lease.dispatchedAtMilliseconds
            message.continuationLease = stored
        }
        return message
    }

    /// A run from its header; `events` and `steps` are filled by the caller.
    static func decodeHeader(_ message: Tether_V1_StoredRun) -> RunRecord {
        let status = RunStatus(rawValue: message.status) ?? .failed
        return RunRecord(
            id: message.id, functionId: message.functionID, app: message.app, functionSlug: message.functionSlug,
            status: status, events: [],
            output: status == .completed ? Array(message.output) : nil,
            error: message.hasError ? decode(message.error) : nil, createdAtMilliseconds: message.createdAtUnixMs,
            startedAtMilliseconds: message.startedAtUnixMs, endedAtMilliseconds: message.endedAtUnixMs,
            attempt: Int(message.attempt), maxAttempts: Int(message.maxAttempts),
            nextAttemptAtMilliseconds: message.nextAttemptAtUnixMs, steps: [], lastRequestId: message.lastRequestID,
            parentRunId: message.parentRunID, parentStepId: message.parentStepID,
            continuationLease: message.hasContinuationLease ? decodeContinuation(message) : nil)
    }

    /// The continuation lease in a run's header; its run id and app, left empty when written,
    /// are the header's.
    static func decodeContinuation(_ message: Tether_V1_StoredRun) -> LeaseRecord {
        var lease = decode(message.continuationLease)
        lease.runId = message.id
        lease.stepId = ""
        if lease.app.isEmpty { lease.app = message.app }
        return lease
    }

    static func encode(_ function: FunctionDefinition, updatedAt: Int64) -> Tether_V1_StoredFunction {
        var message = Tether_V1_StoredFunction()
        message.id = function.id
        message.app = function.app
        message.config = (try? Tether_V1_FunctionConfig(function).serializedData()) ?? Data()
        message.updatedAtUnixMs = updatedAt
        return message
    }

    static func decode(_ message: Tether_V1_StoredFunction) throws -> FunctionDefinition {
        let config = try Tether_V1_FunctionConfig(serializedBytes: message.config)
        return FunctionDefinition(config, app: message.app)
    }
}
