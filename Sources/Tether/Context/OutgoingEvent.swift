import Foundation

/// An event a function sends with `step.sendEvent`: a name and a JSON object of data, with an optional id, time
/// and schema version.
///
/// ```swift
/// try await ctx.step.sendEvent("notify", OutgoingEvent(name: "order/shipped", data: Shipped(orderId: id)))
/// ```
///
/// The data is encoded when the event is created, with the same JSON rules as step outputs (ISO 8601 dates). It
/// must encode to a JSON object (a struct or a `[String: …]` dictionary) of at most `Limits.maxEventBytes`;
/// otherwise the sending step fails the run with code `invalid_input`, naming the event.
public struct OutgoingEvent: Sendable {
    /// The event's name, such as `"order/shipped"` (no `*`).
    public let name: String
    /// An id that makes sending idempotent: the coordinator accepts one event per id for 24 hours.
    public let id: String?
    /// The event's time; `nil` means when the coordinator accepts it.
    public let ts: Date?
    /// The schema version of the data, if you keep one.
    public let v: String?
    /// The data's JSON, or why it doesn't encode.
    let encodedData: Result<Data, StepArgumentError>

    /// Creates an event whose `data` is any `Encodable` value that encodes to a JSON object.
    ///
    /// - Parameters:
    ///   - name: The event's name, such as `"order/shipped"`.
    ///   - data: The payload: a struct or a `[String: …]` dictionary.
    ///   - id: An idempotency id (1 to 256 bytes); sending the same id again within 24 hours starts nothing.
    ///   - ts: The event's time; `nil` means when the coordinator accepts it.
    ///   - v: The payload's schema version.
    public init(name: String, data: some Encodable & Sendable, id: String? = nil, ts: Date? = nil, v: String? = nil) {
        self.name = name
        self.id = id
        self.ts = ts
        self.v = v
        do {
            self.encodedData = .success(try JSONCoding.makeEncoder().encode(data))
        } catch {
            let reason = (error as? EncodingError).map { "\($0)" } ?? String(describing: error)
            self.encodedData = .failure(
                StepArgumentError(message: "its data (\(type(of: data))) doesn't encode as JSON: \(reason)"))
        }
    }

    /// Creates an event with empty data (`{}`).
    ///
    /// - Parameters:
    ///   - name: The event's name, such as `"cache/flush"`.
    ///   - id: An idempotency id (1 to 256 bytes); sending the same id again within 24 hours starts nothing.
    ///   - ts: The event's time; `nil` means when the coordinator accepts it.
    ///   - v: The payload's schema version.
    public init(name: String, id: String? = nil, ts: Date? = nil, v: String? = nil) {
        self.name = name
        self.id = id
        self.ts = ts
        self.v = v
        self.encodedData = .success(Data("{}".utf8))
    }
}
