@testable import TetherEngine

/// Helpers to drive the core with a manual clock.
struct CoreHarness {
    var core: CoordinatorCore
    var now: Int64 = 1_700_000_000_000

    init(configuration: CoordinatorCore.Configuration = .init()) {
        core = CoordinatorCore(configuration: configuration, seed: 42)
    }

    static func orderFunction(retries: Int = 4) -> FunctionDefinition {
        FunctionDefinition(
            app: "shop", slug: "process-order", name: "Process order",
            triggers: [.event(name: "order/created", expression: nil)], retries: retries)
    }

    /// Registers a worker. Its instance id is `instance-<connection id>` unless `instance` names
    /// it (a reconnect of an earlier connection's instance); `resumed` lists what it still has.
    mutating func connect(
        _ connectionId: String, capacity: Int, functions: [FunctionDefinition] = [orderFunction()],
        instance: String? = nil, app: String = "shop", resumed: [ResumedRequest] = []
    ) throws -> Effects {
        try core.register(
            WorkerRegistration(
                connectionId: connectionId, instanceId: instance ?? "instance-\(connectionId)", app: app,
                appVersion: "1.0.0", capacity: capacity,
                functions: functions.map { var function = $0; function.app = app; return function }, resumed: resumed),
            now: now)
    }

    mutating func send(_ count: Int, name: String = "order/created") -> (receipts: [EventReceipt], effects: Effects) {
        let events = (0..<count).map { IncomingEvent(name: name, data: Array(#"{"n":\#($0)}"#.utf8)) }
        return core.ingest(events, now: now)
    }

    static func dispatches(_ effects: Effects) -> [StepDispatch] {
        effects.messages.compactMap { if case .dispatch(let d) = $0 { d } else { nil } }
    }

    /// Answers a dispatch with `outcome` from the connection it went to.
    mutating func answer(_ dispatch: StepDispatch, _ outcome: StepOutcome) -> Effects {
        core.handleResult(
            connectionId: dispatch.connectionId, requestId: dispatch.requestId, runId: dispatch.run.id, outcome: outcome,
            now: now)
    }

    /// Answers a dispatch with a completed step.
    mutating func complete(_ dispatch: StepDispatch, step: String, output: String = "1") -> Effects {
        answer(dispatch, .stepCompleted(StepCompletion(stepId: step, output: Array(output.utf8))))
    }

    /// Answers a dispatch with steps the coordinator carries out, after executing `executed`.
    mutating func plan(_ dispatch: StepDispatch, executed: String? = nil, _ steps: [PlannedStep]) -> Effects {
        answer(
            dispatch,
            .stepsPlanned(executed: executed.map { StepCompletion(stepId: $0, output: Array("1".utf8)) }, steps: steps))
    }

    /// Moves the clock to `time` and ticks.
    mutating func tick(at time: Int64) -> Effects {
        now = time
        return core.tick(now: now)
    }

    /// The last state of run `id` written in `effects`.
    static func written(_ effects: Effects, run id: String) -> RunRecord? {
        var found: RunRecord?
        for case .putRun(let run, _, _) in effects.writes where run.id == id { found = run }
        return found
    }

    /// Events accepted in `effects`.
    static func events(_ effects: Effects) -> [EventRecord] {
        effects.writes.compactMap { if case .putEvent(let event, _, _) = $0 { event } else { nil } }
    }
}

