@testable import TetherEngine

/// Shortcuts for flow-control tests: a function with a given `FlowControl`, events keyed by
/// tenant, and finishing runs.
extension CoreHarness {
    static func flowFunction(_ flow: FlowControl, slug: String = "sync") -> FunctionDefinition {
        FunctionDefinition(
            app: "shop", slug: slug, name: slug, triggers: [.event(name: "tenant/sync", expression: nil)], flow: flow)
    }

    static func tenantEvent(_ tenant: String, _ n: Int = 0, priority: Int? = nil) -> IncomingEvent {
        let extra = priority.map { #","priority":\#($0)"# } ?? ""
        return IncomingEvent(name: "tenant/sync", data: Array(#"{"tenant":"\#(tenant)","n":\#(n)\#(extra)}"#.utf8))
    }

    /// Sends events one at a time at the current time; returns their receipts and every effect.
    mutating func sendAll(_ events: [IncomingEvent]) -> (receipts: [EventReceipt], effects: Effects) {
        let result = core.ingest(events, now: now)
        return (result.receipts, result.effects)
    }

    /// Finishes the run of a dispatch (its last step returned the output).
    mutating func finish(_ dispatch: StepDispatch) -> Effects {
        answer(dispatch, .runCompleted(lastStep: nil, output: Array("null".utf8)))
    }

    /// The tenant of a dispatched run's first event.
    static func tenant(of dispatch: StepDispatch) -> String {
        let data = (try? JSONValue(parsing: dispatch.run.events[0].data)) ?? .null
        if case .string(let tenant)? = data["tenant"] { return tenant }
        return "?"
    }

    /// The `n` of a dispatched run's first event.
    static func number(of dispatch: StepDispatch) -> Int {
        let data = (try? JSONValue(parsing: dispatch.run.events[0].data)) ?? .null
        if case .int(let n)? = data["n"] { return Int(n) }
        return -1
    }
}
