import Foundation
import TetherProtocol

extension Tether_V1_StepFailed {
    /// A failure of step `stepId` (empty: the function's body) with its timings.
    init(stepId: String, error: Tether_V1_StepError, startedAt: Date, endedAt: Date) {
        self.init()
        self.stepID = stepId
        self.error = error
        self.startedAtUnixMs = startedAt.unixMilliseconds
        self.endedAtUnixMs = endedAt.unixMilliseconds
    }
}
