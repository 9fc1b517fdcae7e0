import NIOCore
import TetherEngine

/// Parses and checks the body of `POST /v1/events`: one event or an array of them.
package enum EventParsing {
    static let maxEventsPerRequest = 1_000

    /// ``parse(_:limits:)`` for the package's other modules (the fuzz targets in
    /// `Tests/TetherFuzzing`), which cannot name the internal `APIError`.
    package static func parseUntyped(_ body: ByteBuffer, limits: Limits) throws -> [IncomingEvent] {
        try parse(body.readableBytesView, limits: limits)
    }

    static func parse(_ body: some Collection<UInt8>, limits: Limits) throws(APIError) -> [IncomingEvent] {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: body)
        } catch {
            throw APIError(.badRequest, .invalid_json, "the body is not valid JSON: \(error.message)")
        }
        switch document {
        case .object:
            return [try parseEvent(document, index: nil, limits: limits)]
        case .array(let items):
            guard !items.isEmpty else {
                throw APIError(.badRequest, .invalid_input, "the event array is empty")
            }
            guard items.count <= maxEventsPerRequest else {
                throw APIError(
                    .contentTooLarge, .payload_too_large,
                    "at most \(maxEventsPerRequest) events per request, got \(items.count)")
            }
            var events: [IncomingEvent] = []
            events.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                events.append(try parseEvent(item, index: index, limits: limits))
            }
            return events
        default:
            throw APIError(.badRequest, .invalid_input, "the body must be an event object or an array of events")
        }
    }

    static func parseEvent(_ value: JSONValue, index: Int?, limits: Limits) throws(APIError) -> IncomingEvent {
        let label = index.map { "event \($0)" } ?? "the event"
        func invalid(_ message: String) -> APIError {
            APIError(.badRequest, .invalid_input, "\(label): \(message)")
        }
        guard let object = value.objectValue else { throw invalid("must be a JSON object") }
        guard let nameValue = object["name"], !nameValue.isNull else { throw invalid("missing \"name\"") }
        guard let name = nameValue.stringValue else { throw invalid("\"name\" must be a string") }
        if let problem = FunctionDefinition.eventNameProblem(name, limits: limits) { throw invalid(problem) }
        if name.contains("*") { throw invalid("event names cannot contain '*'") }

        var data: [UInt8] = Array("{}".utf8)
        if let dataValue = object["data"], !dataValue.isNull {
            guard dataValue.objectValue != nil else { throw invalid("\"data\" must be a JSON object") }
            data = dataValue.serialized()
        }
        if data.count > limits.maxEventBytes {
            throw APIError(
                .contentTooLarge, .payload_too_large,
                "\(label): data is \(data.count) bytes, over the limit of \(limits.maxEventBytes)")
        }

        var id: String?
        if let idValue = object["id"], !idValue.isNull {
            guard let text = idValue.stringValue else { throw invalid("\"id\" must be a string") }
            guard !text.isEmpty, text.utf8.count <= limits.maxIdentifierBytes else {
                throw invalid("\"id\" must be 1-\(limits.maxIdentifierBytes) bytes")
            }
            id = text
        }
        var timestamp: Int64?
        if let tsValue = object["ts"], !tsValue.isNull {
            // `int64Value` is exact: a fraction, or a number past Int64 (1e19, 2^64, 1.7e308), is nil.
            guard let ts = tsValue.int64Value, ts >= 0, ts <= limits.maxEventTimestampMilliseconds else {
                throw invalid(
                    "\"ts\" must be a whole number of Unix milliseconds from 0 to "
                        + "\(limits.maxEventTimestampMilliseconds), got "
                        + (tsValue.isNumber ? "\(tsValue)" : "a JSON \(tsValue.typeName)"))
            }
            timestamp = ts
        }
        var version = ""
        if let vValue = object["v"], !vValue.isNull {
            guard let text = vValue.stringValue else { throw invalid("\"v\" must be a string") }
            version = text
        }
        return IncomingEvent(id: id, name: name, data: data, timestampMilliseconds: timestamp, version: version)
    }
}
