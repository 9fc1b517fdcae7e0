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

    static func decode(_ message: Tether_V1_StoredError) -> RunError {
        RunError(code: message.code, message: message.message, type: message.errorType)
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

    /// Whether a header leaves out its run's app and function slug: they are written only when
    /// the function id does not say them (it is `app:slug`, and apps have no `:`).
    static func derivesAppAndSlug(_ run: RunRecord) -> Bool {
        !run.app.isEmpty && !run.functionSlug.isEmpty && !run.app.contains(":")
            && run.functionId == FunctionDefinition.makeID(app: run.app, slug: run.functionSlug)
    }

    /// A run's header in wire format (a `StoredRun`), written directly: the store writes one on
    /// nearly every step. The tests check the bytes against SwiftProtobuf's for the same message.
    static func headerBytes(_ run: RunRecord) -> [UInt8] {
        var writer = ProtoWriter(capacity: 192)
        writer.string(1, run.id)
        writer.string(2, run.functionId)
        let derived = derivesAppAndSlug(run)
        if !derived { writer.string(3, run.app) }
        writer.string(4, run.status.rawValue)
        if let output = run.output { writer.bytes(6, output) }
        if let error = run.error { writer.message(7) { $0.error(error) } }
        writer.int64(8, run.createdAtMilliseconds)
        writer.int64(9, run.startedAtMilliseconds)
        writer.int64(10, run.endedAtMilliseconds)
        writer.uint32(11, UInt32(clamping: run.attempt))
        writer.uint32(12, UInt32(clamping: run.maxAttempts))
        writer.uint32(13, UInt32(clamping: run.steps.count))
        if !derived { writer.string(14, run.functionSlug) }
        for event in run.events { writer.repeatedString(15, event.id) }
        writer.int64(16, run.nextAttemptAtMilliseconds)
        writer.string(17, run.lastRequestId)
        writer.string(18, run.parentRunId)
        writer.string(19, run.parentStepId)
        if let lease = run.continuationLease {
            writer.message(20) { stored in
                stored.string(3, lease.instanceId)
                if lease.app != run.app { stored.string(4, lease.app) }
                stored.int64(5, lease.dispatchedAtMilliseconds)
                stored.string(6, lease.requestId)
            }
        }
        return writer.bytes
    }

    /// A step record in wire format (a `StoredStep`), checked like ``headerBytes(_:)``.
    static func stepBytes(_ step: StepRecord) -> [UInt8] {
        var writer = ProtoWriter(capacity: 64 + step.output.count)
        writer.string(1, step.id)
        writer.string(2, step.status.rawValue)
        writer.uint32(3, UInt32(clamping: step.attempts))
        writer.bytes(4, step.output)
        if let error = step.error { writer.message(5) { $0.error(error) } }
        writer.string(6, step.worker)
        writer.int64(7, step.startedAtMilliseconds)
        writer.int64(8, step.endedAtMilliseconds)
        writer.string(9, step.kind == .run ? "" : step.kind.rawValue)
        writer.int64(10, step.dueAtMilliseconds)
        writer.int64(11, step.nextAttemptAtMilliseconds)
        writer.string(12, step.waitEvent)
        writer.string(13, step.waitMatch)
        writer.string(14, step.childRunId)
        return writer.bytes
    }

    /// A run from its header; `events` and `steps` are filled by the caller.
    static func decodeHeader(_ message: Tether_V1_StoredRun) -> RunRecord {
        let status = RunStatus(rawValue: message.status) ?? .failed
        var app = message.app
        var slug = message.functionSlug
        if app.isEmpty, slug.isEmpty, let colon = message.functionID.firstIndex(of: ":") {
            // Left out as the function id says them (`derivesAppAndSlug`).
            app = String(message.functionID[..<colon])
            slug = String(message.functionID[message.functionID.index(after: colon)...])
        }
        return RunRecord(
            id: message.id, functionId: message.functionID, app: app, functionSlug: slug,
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
        if lease.app.isEmpty {
            lease.app = message.app.isEmpty ? String(message.functionID.prefix { $0 != ":" }) : message.app
        }
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
