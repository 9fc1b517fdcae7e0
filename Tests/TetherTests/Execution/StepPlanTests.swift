import Foundation
import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("StepPlan: the replay model's decisions, without tasks")
struct StepPlanTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)
    static func sleepOp() -> Result<Tether_V1_StepOp.OneOf_Op, StepArgumentError> {
        .success(.sleep(Tether_V1_SleepOp()))
    }

    static func plan(memoized: [Tether_V1_MemoizedStep] = [], target: String? = nil) -> StepPlan {
        StepPlan(memoized: memoized, target: target, limits: .default, executesEveryStep: false)
    }

    static func describe(_ action: StepPlan.Action) -> String {
        switch action {
        case .replay(let step): "replay \(step.id)"
        case .execute(let stepId): "execute \(stepId)"
        case .executeIfAlone(let stepId): "executeIfAlone \(stepId)"
        case .unitTest(let stepId, _): "unitTest \(stepId)"
        case .park: "park"
        case .interrupt: "interrupt"
        case .reject(let error): "reject \(error.code)"
        }
    }

    @Test func untargetedExecutesALoneRunStepAndPlansTheNextOnes() {
        var plan = Self.plan(memoized: [Fixtures.memoized("a", "1")])
        func reach(_ id: String, _ op: StepPlan.OperationBuilder? = nil) -> String {
            Self.describe(plan.reach(id, method: "step", operation: op, enclosingStepId: nil, now: Self.now))
        }

        #expect(reach("a") == "replay a")
        #expect(reach("b") == "executeIfAlone b")
        // Quiescent with b the only new step: it executes here.
        #expect(plan.promoteCandidate() == "b")
        #expect(plan.executing == 1)
        #expect(reach("c") == "park", "b is running")
        plan.closureEnded(completed: .with { $0.stepID = "b" }, failure: nil)
        #expect(reach("d") == "park", "b has executed")
        #expect(reach("a") == "park", "a repeated id resolves to a:1, a new step")
        #expect(plan.promoteCandidate() == nil)

        let progress = plan.finish()
        #expect(progress.executed?.stepID == "b")
        #expect(progress.ops.map(\.stepID) == ["c", "d", "a:1"])
        #expect(progress.failure == nil)
        #expect(reach("e") == "interrupt")
    }

    @Test func untargetedPlansEveryParallelStepWhenSeveralAreReachedTogether() {
        var plan = Self.plan()
        func reach(_ id: String, _ op: StepPlan.OperationBuilder? = nil) -> String {
            Self.describe(plan.reach(id, method: "step", operation: op, enclosingStepId: nil, now: Self.now))
        }

        #expect(reach("b") == "executeIfAlone b")
        #expect(reach("c") == "park")
        #expect(reach("nap", Self.sleepOp) == "park")
        // Siblings were reached with b: none executes here, all are dispatched together.
        #expect(plan.promoteCandidate() == nil)
        #expect(plan.executing == 0)
        let progress = plan.finish()
        #expect(progress.executed == nil)
        #expect(progress.ops.map(\.stepID) == ["b", "c", "nap"])
    }

    @Test func aPlannedOperationReachedFirstKeepsTheRunStepFromExecutingAlone() {
        var plan = Self.plan()
        #expect(
            Self.describe(plan.reach("nap", method: "step", operation: Self.sleepOp, enclosingStepId: nil, now: Self.now))
                == "park")
        #expect(
            Self.describe(plan.reach("b", method: "step", operation: nil, enclosingStepId: nil, now: Self.now))
                == "executeIfAlone b")
        #expect(plan.promoteCandidate() == nil)
        #expect(plan.finish().ops.map(\.stepID) == ["nap", "b"])
    }

    @Test func targetedExecutesOnlyTheTargetAndPlansNothing() {
        var plan = Self.plan(target: "b")
        func reach(_ id: String, _ op: StepPlan.OperationBuilder? = nil) -> String {
            Self.describe(plan.reach(id, method: "step", operation: op, enclosingStepId: nil, now: Self.now))
        }

        #expect(reach("a") == "park")
        #expect(reach("nap", Self.sleepOp) == "park")
        #expect(reach("b") == "execute b")
        #expect(plan.finish().ops.isEmpty)
    }

    @Test func afterAFailureEveryStepParksButNestedOnesAreInterrupted() {
        var plan = Self.plan()
        let invalid: StepPlan.OperationBuilder = { .failure(StepArgumentError(message: "bad")) }
        #expect(
            Self.describe(plan.reach("x", method: "m", operation: invalid, enclosingStepId: nil, now: Self.now))
                == "park")
        #expect(
            Self.describe(plan.reach("y", method: "m", operation: nil, enclosingStepId: nil, now: Self.now)) == "park")
        #expect(
            Self.describe(plan.reach("z", method: "m", operation: nil, enclosingStepId: "outer", now: Self.now))
                == "interrupt", "a step inside a running closure can't wait for the end: the closure waits for it")
        let progress = plan.finish()
        #expect(progress.failure?.stepID == "x")
        #expect(progress.failure?.error.message == "bad")
        #expect(progress.ops.isEmpty)
    }
}
