import TetherEngine

/// The functions the simulation runs, and the part of the SDK it needs: given a step request,
/// replay the function over the memoized steps and say what the request does next.
enum SimScript {
    enum Op: Sendable, Equatable {
        /// A `step.run` whose body takes a while.
        case run(String)
        /// A `step.run` whose body throws (retriably) on its first `failures` attempts.
        case flaky(String, failures: Int)
        case sleep(String, milliseconds: Int64)
        /// Waits for `sim/signal` with the run's `n`.
        case wait(String, timeoutMilliseconds: Int64)
        /// Steps started together.
        case parallel([String])
        case invoke(String)
        case send(String)
    }

    static let app = "sim"
    static let startEvent = "sim/start"
    static let signalEvent = "sim/signal"

    /// The main function's scripts; an event's `s` picks one.
    static let scripts: [[Op]] = [
        [.run("a"), .run("b"), .run("c")],
        [.run("a"), .sleep("nap", milliseconds: 2_000), .run("b")],
        [.run("a"), .wait("w", timeoutMilliseconds: 20_000), .run("b")],
        [.parallel(["p1", "p2", "p3"]), .run("z")],
        [.run("a"), .invoke("child"), .send("notify"), .run("b")],
        [.flaky("f", failures: 2), .run("b")],
    ]
    static let childScript: [Op] = [.run("x")]

    static let main = FunctionDefinition(
        app: app, slug: "flow", name: "", triggers: [.event(name: startEvent, expression: nil)])
    static let child = FunctionDefinition(
        app: app, slug: "child", name: "", triggers: [.event(name: "sim/child", expression: nil)])

    /// What a run of script `index` returns, whatever faults happened on the way.
    static func expectedOutput(script index: Int) -> [UInt8] { Array("\"script-\(index)\"".utf8) }
    static let childOutput: [UInt8] = Array("\"child\"".utf8)
    static func output(of stepId: String) -> [UInt8] { Array("\"\(stepId)\"".utf8) }

    /// What a worker does with a request.
    enum Response {
        /// Runs the body of `stepId` for a while, then reports `outcome` (it reports
        /// `failure` instead when the body throws on this attempt).
        case body(stepId: String, outcome: StepOutcome)
        /// Reports at once, without running a body.
        case immediate(StepOutcome)
    }

    static func script(of run: RunRecord) -> (ops: [Op], output: [UInt8]) {
        if run.functionSlug == child.slug { return (childScript, childOutput) }
        let data = try? JSONValue(parsing: run.events.first?.data ?? [])
        let index = Int(data?["s"]?.int64Value ?? 0) % scripts.count
        return (scripts[index], expectedOutput(script: index))
    }

    /// Replays `dispatch` over its run's memoized steps (the SDK's replay model, for these scripts).
    static func respond(to dispatch: StepDispatch) -> Response {
        let run = dispatch.run
        let (ops, output) = script(of: run)
        func record(_ id: String) -> StepRecord? { run.steps.first { $0.id == id } }
        func memoized(_ id: String) -> Bool { record(id)?.status.isMemoized == true }
        func completion(_ id: String) -> StepCompletion { StepCompletion(stepId: id, output: Self.output(of: id)) }
        if !dispatch.targetStepId.isEmpty {
            // A parallel step on its own.
            return .body(stepId: dispatch.targetStepId, outcome: .stepCompleted(completion(dispatch.targetStepId)))
        }
        for (position, op) in ops.enumerated() {
            let last = position == ops.count - 1
            switch op {
            case .run(let id), .flaky(let id, _):
                if memoized(id) { continue }
                if case .flaky(_, let failures) = op, dispatch.attempt <= failures {
                    return .body(
                        stepId: id,
                        outcome: .stepFailed(
                            StepFailure(stepId: id, error: RunError(code: "step_failed", message: "flaky attempt \(dispatch.attempt)"))))
                }
                return .body(
                    stepId: id,
                    outcome: last ? .runCompleted(lastStep: completion(id), output: output) : .stepCompleted(completion(id)))
            case .sleep(let id, let milliseconds):
                if memoized(id) { continue }
                return .immediate(
                    .stepsPlanned(
                        executed: nil,
                        steps: [PlannedStep(stepId: id, operation: .sleep(durationMilliseconds: milliseconds, untilMilliseconds: 0))]))
            case .wait(let id, let timeout):
                if memoized(id) { continue }
                return .immediate(
                    .stepsPlanned(
                        executed: nil,
                        steps: [
                            PlannedStep(
                                stepId: id,
                                operation: .waitForEvent(
                                    event: signalEvent, match: "async.data.n == event.data.n", timeoutMilliseconds: timeout))
                        ]))
            case .parallel(let ids):
                if ids.allSatisfy(memoized) { continue }
                return .immediate(.stepsPlanned(executed: nil, steps: ids.map { PlannedStep(stepId: $0, operation: .run) }))
            case .invoke(let id):
                if memoized(id) { continue }
                return .immediate(
                    .stepsPlanned(
                        executed: nil, steps: [PlannedStep(stepId: id, operation: .invoke(functionId: child.slug, data: Array("{}".utf8)))]))
            case .send(let id):
                if memoized(id) { continue }
                return .immediate(
                    .stepsPlanned(
                        executed: nil,
                        steps: [
                            PlannedStep(
                                stepId: id, operation: .sendEvent([IncomingEvent(name: "sim/notified", data: Array("{}".utf8))]))
                        ]))
            }
        }
        return .immediate(.runCompleted(lastStep: nil, output: output))
    }
}
