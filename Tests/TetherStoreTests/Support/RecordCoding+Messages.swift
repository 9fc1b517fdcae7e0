import Foundation
import TetherEngine
import TetherProtocol

@testable import TetherStore

/// The messages the store's hand-written encodings (`RecordCoding.headerBytes`, `stepBytes`)
/// must match byte for byte once SwiftProtobuf serializes them: the reference the tests compare
/// against, field by field from the records.
extension RecordCoding {
    static func encode(_ error: RunError?) -> Tether_V1_StoredError? {
        guard let error else { return nil }
        var message = Tether_V1_StoredError()
        message.code = error.code
        message.message = error.message
        message.errorType = error.type
        return message
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

    /// A run's header as the message ``headerBytes(_:)`` writes.
    static func encodeHeader(_ run: RunRecord) -> Tether_V1_StoredRun {
        var message = Tether_V1_StoredRun()
        message.id = run.id
        message.functionID = run.functionId
        if !derivesAppAndSlug(run) {
            message.app = run.app
            message.functionSlug = run.functionSlug
        }
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
}
