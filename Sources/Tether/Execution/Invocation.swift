import Foundation
import Logging
import TetherProtocol

/// Everything a function's type-erased body needs to build its typed `Context`.
struct Invocation: Sendable {
    let events: [Tether_V1_Event]
    let runId: String
    let attempt: Int
    let state: ExecutionState
    let logger: Logger

    /// Decodes the events into `E` and builds the context the user's closure receives.
    ///
    /// - Throws: `EventDecodingError` when an event's data doesn't fit `E`; `InvalidRequestError` when
    ///   the request carries no event.
    func makeContext<E: Decodable & Sendable>() throws -> Context<E> {
        guard !events.isEmpty else {
            throw InvalidRequestError(description: "the request for run \(runId) carries no event")
        }
        let decoded = try events.map { try Self.decode($0, as: E.self, using: state.decoder) }
        return Context(events: decoded, runId: runId, attempt: attempt, step: Step(state: state), logger: logger)
    }

    /// Decodes an event's JSON `data` into `E`.
    ///
    /// - Throws: `EventDecodingError` naming the field that doesn't fit.
    static func decode<E: Decodable & Sendable>(
        _ event: Tether_V1_Event,
        as type: E.Type,
        using decoder: JSONDecoder
    ) throws -> Event<E> {
        let data: E
        do {
            data = try decoder.decode(E.self, from: event.data.isEmpty ? Data("{}".utf8) : event.data)
        } catch {
            throw EventDecodingError(
                eventName: event.name,
                eventId: event.id,
                typeName: String(describing: E.self),
                reason: (error as? DecodingError)?.reason(root: "data") ?? String(describing: error)
            )
        }
        return Event(
            name: event.name,
            data: data,
            id: event.id,
            ts: Date(timeIntervalSince1970: Double(event.tsUnixMs) / 1000),
            v: event.v.isEmpty ? nil : event.v
        )
    }
}
