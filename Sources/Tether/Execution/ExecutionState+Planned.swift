import Foundation
import TetherProtocol

extension ExecutionState {
    /// Where a step the coordinator carries out (sleep, wait, send, invoke) stands.
    enum PlannedStep {
        /// It completed on an earlier request: its stored result.
        case stored(Tether_V1_MemoizedStep)
        /// A unit-test context: the caller carries out `op` itself.
        case unitTest(stepId: String, op: Tether_V1_StepOp.OneOf_Op)
    }

    /// Replays the planned step `userId`, or records its operation and parks until the request ends.
    ///
    /// - Parameters:
    ///   - method: The call, such as `step.sleep`, for messages.
    ///   - operation: Builds the step's operation, or says why its arguments are invalid; only called for a
    ///     new step.
    func plannedStep(
        _ userId: String,
        method: String,
        operation: @escaping StepPlan.OperationBuilder
    ) async throws -> PlannedStep {
        switch reach(userId, method: method, operation: operation) {
        case .replay(let step):
            return .stored(step)
        case .unitTest(let stepId, let op):
            return .unitTest(stepId: stepId, op: op)
        case .park:
            try await park()
        case .interrupt:
            throw StepInterrupt()
        case .reject(let error):
            throw error
        case .execute, .executeIfAlone:
            preconditionFailure("only run steps execute on the worker")
        }
    }
}
