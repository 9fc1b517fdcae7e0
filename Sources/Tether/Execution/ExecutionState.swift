import Foundation
import TetherEngine
import TetherProtocol
import Tracing

/// The mutable state of one execution of a function (one StepRequest), shared by its `Step` values and the
/// tasks of its body (`async let`, task groups).
///
/// It carries out the decisions of its `StepPlan`: runs the closure of the step that executes, and suspends
/// (parks) every step call that can't go on, so that concurrent siblings are collected rather than cancelled.
/// The executor waits, with `awaitEnd()`, until the body has ended or the request is quiescent (no closure
/// running, at least one step parked), then takes the result and interrupts the parked steps.
final class ExecutionState: @unchecked Sendable {
    /// The step whose closure the current task is running, to reject a step nested in it. A task local rather
    /// than state, so that concurrent steps (`async let`) aren't mistaken for nested ones.
    @TaskLocal static var currentStepId: String?

    /// How long a targeted request waits for its target once everything else is parked. The target was
    /// reached before, concurrently with its siblings, so a deterministic replay reaches it again; under load
    /// its task may just not have been scheduled yet.
    static let targetGrace: Duration = .seconds(2)

    private let lock = NSLock()
    private var plan: StepPlan
    private var parked: [CheckedContinuation<Void, any Error>] = []
    /// The candidate `run` step's task, waiting to learn whether it executes here (see `StepPlan`).
    private var candidate: CheckedContinuation<Void, any Error>?
    private var bodyEnded = false
    private var watcher: CheckedContinuation<Void, Never>?
    private var targetGraceExpired = false
    /// The executor the body's tasks run on; nil in a unit-test context (never quiescent-checked there).
    var executor: RequestExecutor? {
        get { lock.withLock { requestExecutor } }
        set { lock.withLock { requestExecutor = newValue } }
    }
    private var requestExecutor: RequestExecutor?

    let limits: Limits
    /// When true (a `Context` built for a unit test), every `run` step executes, planned steps are carried out
    /// locally, and mistakes are thrown to the caller.
    let executesEveryStep: Bool
    let now: @Sendable () -> Date
    /// The JSON coders of this execution, shared with the event decoding and the return value's encoding.
    let encoder = JSONCoding.makeEncoder()
    let decoder = JSONCoding.makeDecoder()
    /// Where the closure of the step that executes gets its span; nil when the request is not traced.
    let trace: StepTrace?

    init(
        memoized: [Tether_V1_MemoizedStep],
        target: String? = nil,
        limits: Limits = .default,
        executesEveryStep: Bool = false,
        trace: StepTrace? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.trace = trace
        self.plan = StepPlan(
            memoized: memoized, target: target, limits: limits, executesEveryStep: executesEveryStep)
        self.limits = limits
        self.executesEveryStep = executesEveryStep
        self.now = now
    }

    // MARK: Step calls

    /// Decides what the step call `method("userId")` does (see `StepPlan.reach`).
    func reach(_ userId: String, method: String, operation: StepPlan.OperationBuilder? = nil) -> StepPlan.Action {
        let enclosingStepId = Self.currentStepId
        let now = self.now()
        return lock.withLock {
            plan.reach(
                userId, method: method, operation: operation, enclosingStepId: enclosingStepId, now: now)
        }
    }

    /// Suspends the calling task until the request ends, then throws `StepInterrupt` so the body unwinds.
    func park() async throws -> Never {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ended = lock.withLock { () -> Bool in
                if plan.finished {
                    return true
                }
                parked.append(continuation)
                plan.noteParked()
                signalIfOver()
                return false
            }
            if ended {
                continuation.resume(throwing: StepInterrupt())
            }
        }
        // Parked tasks are only ever resumed by throwing.
        throw StepInterrupt()
    }

    /// Suspends the candidate step's task until the request is quiescent. Returns when the step is the only new
    /// one and executes here; throws `StepInterrupt` when it is reported as one of several planned steps.
    func waitUntilAlone() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ended = lock.withLock { () -> Bool in
                if plan.finished {
                    return true
                }
                candidate = continuation
                plan.noteParked()
                signalIfOver()
                return false
            }
            if ended {
                continuation.resume(throwing: StepInterrupt())
            }
        }
    }

    /// A closure started by `.execute` returned (`completed`) or threw (`failure`).
    func closureEnded(completed: Tether_V1_StepCompleted? = nil, failure: Tether_V1_StepFailed? = nil) {
        lock.withLock {
            plan.closureEnded(completed: completed, failure: failure)
            signalIfOver()
        }
    }

    /// Records a failure found while replaying (such as a stored output that doesn't decode) and parks, or, in
    /// a unit-test context, throws it.
    func failAndPark(stepId: String, code: ErrorCode, message: String) async throws -> Never {
        if executesEveryStep {
            throw TetherError(code, message)
        }
        let at = now()
        lock.withLock { plan.fail(stepId: stepId, code: code, message: message, at: at) }
        try await park()
    }

    // MARK: The end of the request

    /// Called by the executor once the function's body has returned or thrown.
    func bodyDidEnd() {
        lock.withLock {
            bodyEnded = true
            signalIfOver()
        }
    }

    /// Waits until the request is over, takes its result, and interrupts every parked step.
    ///
    /// The request is over when no closure is running and either the body has ended or a step is parked
    /// (quiescent: no task of the body can run, see `RequestExecutor`), and goes on waiting if a sibling
    /// task reached a step meanwhile.
    ///
    /// - Returns: What the request did, and whether the body had ended by then (if not, its outcome is ignored:
    ///   it only unwinds from the interrupted steps).
    func awaitEnd() async -> (progress: StepPlan.Progress, bodyEnded: Bool) {
        let grace: Task<Void, Never>? =
            lock.withLock { plan.target == nil }
            ? nil
            : Task { [weak self] in
                try? await Task.sleep(for: Self.targetGrace)
                guard let self, !Task.isCancelled else { return }
                self.lock.withLock {
                    self.targetGraceExpired = true
                    self.signalIfOver()
                }
            }
        defer { grace?.cancel() }
        while true {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let over = lock.withLock { () -> Bool in
                    if isOver {
                        return true
                    }
                    watcher = continuation
                    return false
                }
                if over {
                    continuation.resume()
                }
            }
            let ended = lock.withLock { () -> (StepPlan.Progress, Bool, [CheckedContinuation<Void, any Error>])? in
                // Re-checked under the lock: a sibling may have started a closure since.
                guard isOver else { return nil }
                // Quiescent with a lone candidate step: it executes here, and the request goes on.
                if let waiting = promoteLoneCandidate() {
                    waiting.resume()
                    return nil
                }
                let progress = plan.finish()
                var interrupted = parked
                parked = []
                if let waiting = candidate {
                    interrupted.append(waiting)
                    candidate = nil
                }
                return (progress, bodyEnded, interrupted)
            }
            if let (progress, bodyEnded, interrupted) = ended {
                for continuation in interrupted {
                    continuation.resume(throwing: StepInterrupt())
                }
                return (progress, bodyEnded)
            }
        }
    }

    /// No closure is running, and the body has ended or a step waits. Must be called with the lock held.
    private var isOver: Bool {
        guard plan.executing == 0 else { return false }
        if bodyEnded { return true }
        // Quiescent: a step parked and no task of the body can run. A targeted request also waits (for a while)
        // for its target's task to reach it.
        return (!parked.isEmpty || candidate != nil) && (requestExecutor?.isIdle ?? true)
            && (plan.targetReached || targetGraceExpired)
    }

    /// Every task of the body is suspended: the request may be over, or its lone candidate step may
    /// run. The candidate is resumed right here, on the thread that ran the last job, rather than by
    /// waking `awaitEnd` first: one thread hand-off less per sequential step.
    func executorBecameIdle() {
        let promoted = lock.withLock { () -> CheckedContinuation<Void, any Error>? in
            if let waiting = promoteLoneCandidate() {
                return waiting
            }
            signalIfOver()
            return nil
        }
        promoted?.resume()
    }

    /// When the request is quiescent and its candidate `run` step is the only new step: marks it
    /// executing and returns its task's continuation, to be resumed. Must be called with the lock held.
    private func promoteLoneCandidate() -> CheckedContinuation<Void, any Error>? {
        guard isOver, let waiting = candidate, !bodyEnded, plan.promoteCandidate() != nil else { return nil }
        candidate = nil
        return waiting
    }

    /// Wakes the executor when the request may be over. Must be called with the lock held.
    private func signalIfOver() {
        if isOver, let watcher {
            self.watcher = nil
            watcher.resume()
        }
    }
}
