import TetherEngine

/// Building blocks for ``OpenAPIDocument``: JSON Schemas, responses and operations.
extension OpenAPIDocument {
    // MARK: Schemas

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    static let string: JSONValue = ["type": "string"]
    static let integer: JSONValue = ["type": "integer"]
    static let boolean: JSONValue = ["type": "boolean"]
    /// Any JSON value (step outputs, event data as stored).
    static let anyValue: JSONValue = ["description": "Any JSON value."]
    static let timestamp: JSONValue = ["type": "string", "format": "date-time"]
    /// A time, or `null` when it has not happened.
    static let nullableTimestamp: JSONValue = ["type": ["string", "null"], "format": "date-time"]
    static let nullableString: JSONValue = ["type": ["string", "null"]]
    static let nullableInteger: JSONValue = ["type": ["integer", "null"]]

    static func nullable(ref name: String) -> JSONValue { ["oneOf": [ref(name), ["type": "null"]]] }

    static func enumeration(_ values: [String]) -> JSONValue {
        ["type": "string", "enum": .array(values.map(JSONValue.string))]
    }

    static func array(_ items: JSONValue, minItems: Int? = nil, maxItems: Int? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "array", "items": items]
        if let minItems { schema["minItems"] = .int(Int64(minItems)) }
        if let maxItems { schema["maxItems"] = .int(Int64(maxItems)) }
        return .object(schema)
    }

    /// A closed object: no properties but these, each required unless listed in `optional`.
    static func object(_ properties: [String: JSONValue], optional: Set<String> = []) -> JSONValue {
        [
            "type": "object", "additionalProperties": false, "properties": .object(properties),
            "required": .array(properties.keys.filter { !optional.contains($0) }.sorted().map(JSONValue.string)),
        ]
    }

    /// `schema` with a `description`.
    static func described(_ schema: JSONValue, _ description: String) -> JSONValue {
        guard case .object(var object) = schema else { return schema }
        object["description"] = .string(description)
        return .object(object)
    }

    // MARK: Responses

    static func json(_ description: String, _ schema: JSONValue) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    static func text(_ description: String, mediaType: String) -> JSONValue {
        ["description": .string(description), "content": [mediaType: ["schema": string]]]
    }

    /// An error answer whose `error.code` is one of `codes`.
    static func error(_ description: String, _ codes: [ErrorCode]) -> JSONValue {
        let narrowed: JSONValue = [
            "$ref": "#/components/schemas/Error",
            "properties": ["error": ["properties": ["code": ["enum": .array(codes.map { .string($0.rawValue) })]]]],
        ]
        return json(description, narrowed)
    }

    static let internalError = error("An unexpected failure inside the coordinator.", [.internalError])
    static let storeFailure = error(
        "The store failed (a RocksDB read or write error, or the coordinator's store is closing).",
        [.storageUnavailable])

    // MARK: Operations

    /// One operation. `secured` adds the bearer requirement and the `401` answer.
    static func operation(
        _ id: String, tag: String, summary: String, secured: Bool, parameters: [JSONValue] = [],
        requestBody: JSONValue? = nil, responses: [Int: JSONValue]
    ) -> JSONValue {
        var responses = responses
        var object: [String: JSONValue] = [
            "operationId": .string(id), "tags": [.string(tag)], "summary": .string(summary),
        ]
        if secured {
            object["security"] = [["bearerAuth": []]]
            responses[401] = error("Missing or wrong API key.", [.unauthenticated])
        }
        if !parameters.isEmpty { object["parameters"] = .array(parameters) }
        if let requestBody { object["requestBody"] = requestBody }
        object["responses"] = .object(Dictionary(uniqueKeysWithValues: responses.map { (String($0.key), $0.value) }))
        return .object(object)
    }

    static func queryParameter(_ name: String, _ schema: JSONValue, _ description: String) -> JSONValue {
        [
            "name": .string(name), "in": "query", "required": false, "schema": schema,
            "description": .string(description),
        ]
    }

    static let runIdParameter: JSONValue = [
        "name": "id", "in": "path", "required": true, "schema": string, "description": "A run id (a ULID).",
    ]
}
