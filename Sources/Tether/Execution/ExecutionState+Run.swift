import Foundation
import TetherEngine
import TetherProtocol

extension ExecutionState {
    /// Replays, executes or parks at the `run` step `userId`, as the replay model says.
    func runStep<T: Codable & Sendable>(_ userId: String, _ body: @Sendable () async throws -> T) async throws -> T {
        switch reach(userId, method: "step.run") {
        case .replay(let step):
            return try await decodeStored(step, as: T.self)
        case .execute(let stepId):
            return try await execute(stepId, body)
        case .executeIfAlone(let stepId):
            try await waitUntilAlone()
            return try await execute(stepId, body)
        case .park:
            try await park()
        case .interrupt:
            throw StepInterrupt()
        case .reject(let error):
            throw error
        case .unitTest:
            preconditionFailure("a run step executes; only planned steps are carried out locally")
        }
    }

    /// The stored output of `step` decoded as `T`, or its stored failure thrown as `StepError`.
    ///
    /// An output that doesn't decode means the code changed under a run in flight: the run fails, code
    /// `non_deterministic`.
    func decodeStored<T: Decodable>(_ step: Tether_V1_MemoizedStep, as type: T.Type) async throws -> T {
        let output = try storedOutput(of: step)
        do {
            return try decoder.decode(T.self, from: output)
        } catch {
            let reason = (error as? DecodingError)?.reason(root: "output") ?? String(describing: error)
            try await failAndPark(
                stepId: "",
                code: .nonDeterministic,
                message: "the stored output of step \"\(step.id)\" doesn't decode as \(T.self): \(reason). "
                    + "Did the step's type change while runs were in flight? Give the changed step a new id."
            )
        }
    }

    /// The stored output of `step` (JSON `null` when empty), or its stored failure thrown as `StepError`.
    func storedOutput(of step: Tether_V1_MemoizedStep) throws(StepError) -> Data {
        if step.hasError {
            throw StepError(
                stepId: step.id,
                code: step.error.code.isEmpty ? ErrorCode.stepFailed.rawValue : step.error.code,
                message: step.error.message,
                errorType: step.error.errorType
            )
        }
        return step.output.isEmpty ? JSONCoding.null : step.output
    }

    /// Runs the closure of the step `stepId` and records its output or its failure.
    ///
    /// On failure the caller parks (the request's result is that failure); in a unit-test context the error is
    /// thrown instead.
    private func execute<T: Codable & Sendable>(
        _ stepId: String,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let startedAt = now()
        let value: T
        do {
            value = try await Self.$currentStepId.withValue(stepId) {
                guard let trace else { return try await body() }
                return try await trace.run(stepId: stepId, body)
            }
        } catch {
            if executesEveryStep {
                closureEnded()
                throw error
            }
            // A nested step has recorded its own failure first; that one is kept.
            closureEnded(
                failure: Tether_V1_StepFailed(
                    stepId: stepId, error: Tether_V1_StepError(mapping: error), startedAt: startedAt, endedAt: now()))
            try await park()
        }
        let endedAt = now()
        switch roundTrip(value, stepId: stepId) {
        case .success(let (output, decoded)):
            var completed = Tether_V1_StepCompleted()
            completed.stepID = stepId
            completed.output = output
            completed.startedAtUnixMs = startedAt.unixMilliseconds
            completed.endedAtUnixMs = endedAt.unixMilliseconds
            closureEnded(completed: completed)
            return decoded
        case .failure(let failure) where executesEveryStep:
            closureEnded()
            let error = failure.error
            throw StepError(stepId: stepId, code: error.code, message: error.message, errorType: error.errorType)
        case .failure(let failure):
            closureEnded(
                failure: Tether_V1_StepFailed(stepId: stepId, error: failure.error, startedAt: startedAt, endedAt: endedAt))
            try await park()
        }
    }

    /// Encodes a step's value, checks its size, and decodes it back, so the body sees on this run exactly
    /// the value every replay will see.
    private func roundTrip<T: Codable>(_ value: T, stepId: String) -> Result<(Data, T), WireFailure> {
        let output: Data
        do {
            output = try encoder.encode(value)
        } catch {
            var wire = Tether_V1_StepError(mapping: error)
            wire.message = "the output of step \"\(stepId)\" (\(T.self)) doesn't encode as JSON: \(wire.message)"
            return .failure(WireFailure(error: wire))
        }
        if output.count > limits.maxStepOutputBytes {
            return .failure(
                WireFailure(
                    error: Tether_V1_StepError(
                        code: .outputTooLarge,
                        message: "the output of step \"\(stepId)\" is \(output.count) bytes of JSON; the limit is "
                            + "\(limits.maxStepOutputBytes). Store large data elsewhere and return a reference to it.",
                        nonRetriable: true,
                        errorType: String(describing: T.self)
                    ))
            )
        }
        do {
            return .success((output, try decoder.decode(T.self, from: output)))
        } catch {
            let reason = (error as? DecodingError)?.reason(root: "output") ?? String(describing: error)
            return .failure(
                WireFailure(
                    error: Tether_V1_StepError(
                        code: .stepFailed,
                        message: "the output of step \"\(stepId)\" doesn't decode back as \(T.self): \(reason). "
                            + "Make its Codable conformance symmetric.",
                        nonRetriable: true,
                        errorType: String(describing: T.self)
                    ))
            )
        }
    }
}
