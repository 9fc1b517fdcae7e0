import Foundation
import TetherEngine
import TetherProtocol

extension Step {
    /// Sends events, exactly once per run, and returns their ids.
    ///
    /// ```swift
    /// let ids = try await ctx.step.sendEvent("fan-out", order.items.map { item in
    ///     OutgoingEvent(name: "item/reserve", data: item)
    /// })
    /// ```
    ///
    /// The coordinator sends them (starting every function they trigger) and stores their ids, so a replay never
    /// sends them again.
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - events: At most `Limits.maxEventsPerSend` (1,000) events. An empty array sends nothing and isn't a step.
    /// - Returns: The events' ids, in order (an event's own `id` when it has one).
    /// - Throws: `StepError` when sending failed for good on an earlier run. Invalid events (a bad name, data
    ///   that isn't a JSON object or is too large) fail the run at once with code `invalid_input`.
    ///
    /// In a unit-test `Context`, nothing is sent: it returns each event's `id`, or a generated one.
    @discardableResult
    public func sendEvent(_ id: String, _ events: [OutgoingEvent]) async throws -> [String] {
        guard !events.isEmpty else {
            return []
        }
        let limits = state.limits
        let planned = try await state.plannedStep(id, method: "step.sendEvent") {
            Self.sendOperation(id, events, limits: limits)
        }
        switch planned {
        case .unitTest:
            return events.map { $0.id ?? UUID().uuidString.lowercased() }
        case .stored(let step):
            return try await state.decodeStored(step, as: SentEventIds.self).ids
        }
    }

    /// Sends one event, exactly once per run, and returns its id.
    ///
    /// ```swift
    /// try await ctx.step.sendEvent("shipped", OutgoingEvent(name: "order/shipped", data: ["orderId": orderId]))
    /// ```
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - event: The event to send.
    /// - Returns: The event's id (its own `id` when it has one).
    /// - Throws: As the form that sends an array of events.
    @discardableResult
    public func sendEvent(_ id: String, _ event: OutgoingEvent) async throws -> String {
        let ids = try await sendEvent(id, [event])
        guard let first = ids.first else {
            try await state.failAndPark(
                stepId: "",
                code: .nonDeterministic,
                message: "the stored output of step \"\(id)\" has no event id, but the step sends one event. Did "
                    + "the step change while runs were in flight? Give the changed step a new id."
            )
        }
        return first
    }

    /// The operation of a `sendEvent` step, or what is wrong with its events.
    static func sendOperation(
        _ id: String,
        _ events: [OutgoingEvent],
        limits: Limits
    ) -> Result<Tether_V1_StepOp.OneOf_Op, StepArgumentError> {
        let call = "step.sendEvent(\"\(id)\")"
        guard events.count <= limits.maxEventsPerSend else {
            return .failure(
                StepArgumentError(
                    message: "\(call) was given \(events.count) events; the limit is \(limits.maxEventsPerSend) "
                        + "per step. Send them in several steps."))
        }
        var send = Tether_V1_SendEventOp()
        for (index, event) in events.enumerated() {
            let which = events.count == 1 ? "its event" : "event \(index + 1)"
            func problem(_ text: String) -> Result<Tether_V1_StepOp.OneOf_Op, StepArgumentError> {
                .failure(StepArgumentError(message: "\(call): \(which) (\"\(event.name)\"): \(text)."))
            }
            if let nameProblem = FunctionDefinition.eventNameProblem(event.name, limits: limits) {
                return problem(nameProblem)
            }
            if event.name.contains("*") {
                return problem("event names can't contain '*'")
            }
            let data: Data
            switch event.encodedData {
            case .success(let encoded):
                data = encoded
            case .failure(let error):
                return problem(error.message)
            }
            guard data.first == UInt8(ascii: "{") else {
                return problem("its data must encode to a JSON object (a struct or a [String: …] dictionary)")
            }
            guard data.count <= limits.maxEventBytes else {
                return problem("its data is \(data.count) bytes of JSON; the limit is \(limits.maxEventBytes)")
            }
            if let eventId = event.id, eventId.isEmpty || eventId.utf8.count > limits.maxIdentifierBytes {
                return problem("its id must be 1 to \(limits.maxIdentifierBytes) bytes")
            }
            var wire = Tether_V1_Event()
            wire.name = event.name
            wire.data = data
            wire.id = event.id ?? ""
            if let ts = event.ts {
                guard ts.unixMilliseconds > 0 else {
                    return problem("its ts (\(ts)) is before 1970")
                }
                wire.tsUnixMs = ts.unixMilliseconds
            }
            wire.v = event.v ?? ""
            send.events.append(wire)
        }
        return .success(.sendEvent(send))
    }
}

/// The stored output of a `sendEvent` step.
struct SentEventIds: Decodable {
    var ids: [String]
}
