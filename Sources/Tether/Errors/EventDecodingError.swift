/// The event's JSON `data` doesn't decode into the type the function's `Context` asks for.
///
/// The run fails at once (no retries) with code `invalid_input` and this error's description, which names
/// the field to fix. Either the sender sends the wrong shape, or the type should make that field optional.
public struct EventDecodingError: Error, Sendable, CustomStringConvertible {
    /// The name of the event that didn't decode.
    public let eventName: String
    /// The id of the event that didn't decode.
    public let eventId: String
    /// The Swift type the data was decoded into, such as `"OrderCreated"`.
    public let typeName: String
    /// What didn't fit, such as `missing key "orderId" at data.orderId`.
    public let reason: String

    /// For example `event "order/created" (id 01J…) has data that doesn't decode as OrderCreated: …`.
    public var description: String {
        let id = eventId.isEmpty ? "" : " (id \(eventId))"
        return "event \"\(eventName)\"\(id) has data that doesn't decode as \(typeName): \(reason). "
            + "Send data of that shape, or make the field optional in \(typeName)."
    }
}
