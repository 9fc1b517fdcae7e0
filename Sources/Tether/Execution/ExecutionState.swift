import Foundation
import TetherEngine
import TetherProtocol

/// The mutable state of one execution of a function (one StepRequest), shared by its `Step` values.
///
/// It is only touched from the task running the function, but `Step` is `Sendable`, so it's guarded by a
/// lock.
final class ExecutionState: @unchecked Sendable {
    /// What the execution did, read by the executor once the body has ended.
    struct Progress {
        /// The new step this request executed successfully, if any.
        var executed: Tether_V1_StepCompleted?
        /// The next new step, reached after `executed` and not run.
        var discovered: String?
        /// A failure that ends this request, whatever the body did after it.
        var failure: Tether_V1_StepFailed?
    }

    /// The step whose closure the current task is running, to reject a `step.run` nested in it. A task
    /// local rather than state, so that concurrent steps (`async let`) aren't mistaken for nested ones.
    @TaskLocal private static var currentStepId: String?

    private let lock = NSLock()
    private let memoized: [String: Tether_V1_MemoizedStep]
    private var occurrences: [String: Int] = [:]
    private var seenIds: Set<String> = []
    private var runningStepId: String?
    private var stopped = false
    private var progress = Progress()

    let limits: Limits
    /// When true (a `Context` built for a unit test), every new step runs instead of the request stopping
    /// at the second one.
    let executesEveryStep: Bool
    private let now: @Sendable () -> Date
    /// The JSON coders of this execution, shared with the event decoding and the return value's encoding.
    let encoder = JSONCoding.makeEncoder()
    let decoder = JSONCoding.makeDecoder()

    init(
        memoized: [Tether_V1_MemoizedStep],
        limits: Limits = .default,
        executesEveryStep: Bool = false,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.memoized = Dictionary(memoized.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.limits = limits
        self.executesEveryStep = executesEveryStep
        self.now = now
    }

    var snapshot: Progress {
        lock.withLock { progress }
    }

    // MARK: Running a step

    private enum Decision {
        case replay(Tether_V1_MemoizedStep)
        case execute(stepId: String)
        case stop
    }

    /// Replays, executes or stops at the step `userId`, as the replay model says.
    func runStep<T: Codable & Sendable>(_ userId: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let enclosingStepId = Self.currentStepId
        switch lock.withLock({ decide(userId, enclosingStepId: enclosingStepId) }) {
        case .stop:
            throw StepInterrupt()
        case .replay(let step):
            return try replay(step, as: T.self)
        case .execute(let stepId):
            return try await execute(stepId, body)
        }
    }

    /// Must be called with the lock held.
    private func decide(_ userId: String, enclosingStepId: String?) -> Decision {
        if stopped {
            return .stop
        }
        if let outer = enclosingStepId {
            fail(
                stepId: outer,
                code: .invalidInput,
                message: "step.run(\"\(userId)\") was called inside step \"\(outer)\"; steps can't be nested. "
                    + "Call it from the function's body instead.",
                nonRetriable: true
            )
            return .stop
        }
        if userId.isEmpty || userId.utf8.count > limits.maxIdentifierBytes {
            let shown = userId.isEmpty ? "an empty id" : "an id of \(userId.utf8.count) bytes"
            fail(
                stepId: "",
                code: .invalidInput,
                message: "step.run was given \(shown); step ids must be 1 to \(limits.maxIdentifierBytes) bytes.",
                nonRetriable: true
            )
            return .stop
        }
        let stepId = resolve(userId)
        if let step = memoized[stepId] {
            return .replay(step)
        }
        // A step already ran, or is running in a concurrent child task (`async let`): this one is next.
        if (progress.executed != nil || runningStepId != nil) && !executesEveryStep {
            progress.discovered = progress.discovered ?? stepId
            stopped = true
            return .stop
        }
        if seenIds.count > limits.maxStepsPerRun {
            fail(
                stepId: stepId,
                code: .tooManySteps,
                message: "step \"\(stepId)\" would be step \(seenIds.count) of this run; a run may have at most "
                    + "\(limits.maxStepsPerRun). Split the work into several functions (or send events).",
                nonRetriable: true
            )
            return .stop
        }
        runningStepId = stepId
        return .execute(stepId: stepId)
    }

    /// The id a step is stored under: the user's id, then `id:1`, `id:2`… when it repeats in the run.
    /// Must be called with the lock held.
    private func resolve(_ userId: String) -> String {
        var n = occurrences[userId, default: 0]
        var stepId = n == 0 ? userId : "\(userId):\(n)"
        while seenIds.contains(stepId) {  // A user id such as "charge:1" already took the suffixed id.
            n += 1
            stepId = "\(userId):\(n)"
        }
        occurrences[userId] = n + 1
        seenIds.insert(stepId)
        return stepId
    }

    private func replay<T: Decodable>(_ step: Tether_V1_MemoizedStep, as type: T.Type) throws -> T {
        if step.hasError {
            throw StepError(
                stepId: step.id,
                code: step.error.code.isEmpty ? ErrorCode.stepFailed.rawValue : step.error.code,
                message: step.error.message,
                errorType: step.error.errorType
            )
        }
        do {
            return try decoder.decode(T.self, from: step.output.isEmpty ? JSONCoding.null : step.output)
        } catch {
            let reason = (error as? DecodingError)?.reason(root: "output") ?? String(describing: error)
            lock.withLock {
                fail(
                    stepId: "",
                    code: .nonDeterministic,
                    message: "the stored output of step \"\(step.id)\" doesn't decode as \(T.self): \(reason). "
                        + "Did the step's type change while runs were in flight? Give the changed step a new id.",
                    nonRetriable: true
                )
            }
            throw StepInterrupt()
        }
    }

    private func execute<T: Codable & Sendable>(
        _ stepId: String,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let startedAt = now()
        let value: T
        do {
            value = try await Self.$currentStepId.withValue(stepId) { try await body() }
        } catch {
            let endedAt = now()
            if executesEveryStep {
                lock.withLock { runningStepId = nil }
                throw error
            }
            lock.withLock {
                runningStepId = nil
                // A nested step.run has recorded its own failure; keep that one.
                fail(stepId: stepId, error: Tether_V1_StepError(mapping: error), startedAt: startedAt, endedAt: endedAt)
            }
            throw StepInterrupt()
        }
        let endedAt = now()
        let outcome = roundTrip(value, stepId: stepId)
        return try lock.withLock {
            runningStepId = nil
            switch outcome {
            case .success(let (output, decoded)):
                var completed = Tether_V1_StepCompleted()
                completed.stepID = stepId
                completed.output = output
                completed.startedAtUnixMs = startedAt.unixMilliseconds
                completed.endedAtUnixMs = endedAt.unixMilliseconds
                if progress.executed == nil {
                    progress.executed = completed
                }
                return decoded
            case .failure(let failure) where executesEveryStep:
                let error = failure.error
                throw StepError(stepId: stepId, code: error.code, message: error.message, errorType: error.errorType)
            case .failure(let failure):
                fail(stepId: stepId, error: failure.error, startedAt: startedAt, endedAt: endedAt)
                throw StepInterrupt()
            }
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

    // MARK: Failures (lock held)

    private func fail(stepId: String, code: ErrorCode, message: String, nonRetriable: Bool) {
        let at = now()
        fail(
            stepId: stepId,
            error: Tether_V1_StepError(code: code, message: message, nonRetriable: nonRetriable),
            startedAt: at,
            endedAt: at
        )
    }

    /// Records the first failure of the request and stops it.
    private func fail(stepId: String, error: Tether_V1_StepError, startedAt: Date, endedAt: Date) {
        stopped = true
        guard progress.failure == nil else { return }
        var failed = Tether_V1_StepFailed()
        failed.stepID = stepId
        failed.error = error
        failed.startedAtUnixMs = startedAt.unixMilliseconds
        failed.endedAtUnixMs = endedAt.unixMilliseconds
        progress.failure = failed
    }
}
