import Foundation

/// An event as a function receives it, with its JSON data decoded into `E`.
public struct Event<E: Decodable & Sendable>: Sendable {
    /// The event's name, such as `"order/created"`.
    public let name: String
    /// The event's payload, decoded from its JSON `data`.
    public let data: E
    /// The event's id: the one its sender gave, or one the coordinator assigned.
    public let id: String
    /// When the event was accepted (or the time its sender gave).
    public let ts: Date
    /// The sender's schema version of the payload, if it gave one.
    public let v: String?

    /// Creates an event, for example to call a function's body directly in a unit test.
    public init(name: String, data: E, id: String = "", ts: Date = Date(), v: String? = nil) {
        self.name = name
        self.data = data
        self.id = id
        self.ts = ts
        self.v = v
    }
}
