/// A value that may be JSON `null`, for a property the API always sends: it encodes `null`
/// where swift-openapi-generator's own `Optional` properties would leave the key out.
///
/// `openapi.yaml` names these schemas `Nullable…` (`oneOf` the value or `null`), and
/// `openapi-generator-config.yaml` maps each to this type.
public struct Nullable<Wrapped: Codable & Hashable & Sendable>: Codable, Hashable, Sendable {
    public var value: Wrapped?

    public init(_ value: Wrapped?) {
        self.value = value
    }

    /// `null`.
    public static var null: Self { Self(nil) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        value = container.decodeNil() ? nil : try container.decode(Wrapped.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value {
            try container.encode(value)
        } else {
            try container.encodeNil()
        }
    }
}

extension Nullable: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) {
        self.init(nil)
    }
}
