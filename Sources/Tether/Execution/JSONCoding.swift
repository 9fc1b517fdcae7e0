import Foundation

/// The one JSON configuration for step outputs, function outputs and event data, used on both sides of a
/// replay so that a value decodes the same as it encoded.
///
/// Dates are ISO 8601 with milliseconds (`2025-01-31T12:00:00.123Z`); decoding also accepts whole seconds.
enum JSONCoding {
    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(withFractionalSeconds))
        }
        return encoder
    }

    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let string = try container.decode(String.self)
            if let date = try? withFractionalSeconds.parse(string) {
                return date
            }
            if let date = try? wholeSeconds.parse(string) {
                return date
            }
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "Expected an ISO 8601 date such as 2025-01-31T12:00:00.123Z, found \"\(string)\"."
            )
        }
        return decoder
    }

    /// JSON `null`, the stored output of a `Void` step or function.
    static let null = Data("null".utf8)

    private static let withFractionalSeconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let wholeSeconds = Date.ISO8601FormatStyle()
}

/// The output of a `Void` step or function: encodes as JSON `null` and decodes from any JSON value.
struct JSONNull: Codable, Sendable {
    init() {}

    init(from decoder: any Decoder) throws {}

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}
