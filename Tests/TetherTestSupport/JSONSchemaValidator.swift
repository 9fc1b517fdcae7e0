import Foundation
import TetherEngine

/// A small JSON Schema validator for tests: the subset of JSON Schema 2020-12 that Tether's
/// OpenAPI 3.1 document uses.
///
/// Assertions: `type` (a name or an array of names, so `["string", "null"]` is nullable),
/// `enum`, `const`, `properties`, `required`, `additionalProperties` (a boolean or a schema),
/// `items`, `minItems`, `maxItems`, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`
/// (an ICU regular expression, which reads the document's ECMA-262 patterns alike), `oneOf`,
/// `anyOf`, `allOf` and `$ref` (a local JSON pointer such as `#/components/schemas/Run`,
/// applied together with the keywords beside it). Annotations (`description`, `format`,
/// `contentSchema`, which JSON Schema does not assert either, `x-…`, …) are ignored. Any other keyword is reported as a problem rather than silently ignored, so a
/// schema cannot claim more than this validator checks.
public struct JSONSchemaValidator: Sendable {
    /// The document `$ref`s point into.
    public let root: JSONValue

    public init(root: JSONValue) {
        self.root = root
    }

    /// Keywords that only describe (never fail a value).
    static let annotations: Set<String> = [
        "description", "title", "format", "default", "examples", "example", "deprecated", "readOnly", "writeOnly",
        "$comment", "contentMediaType", "contentSchema",
    ]

    /// Keywords this validator checks.
    static let assertions: Set<String> = [
        "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern", "oneOf", "anyOf", "allOf",
    ]

    /// Everything wrong with `value` under `schema`, each as `path: problem`; empty when it is valid.
    public func problems(_ value: JSONValue, against schema: JSONValue) -> [String] {
        var problems: [String] = []
        check(value, schema, path: "$", depth: 0, into: &problems)
        return problems
    }

    /// What is wrong with a schema itself, without a value: keywords this validator does not
    /// check and `$ref`s that do not resolve, in it and in every subschema.
    public func schemaProblems(_ schema: JSONValue, path: String = "#") -> [String] {
        guard let keywords = schema.objectValue else {
            return schema.boolValue == nil ? ["\(path): the schema is \(schema.typeName)"] : []
        }
        var problems: [String] = []
        for keyword in keywords.keys.sorted()
        where !Self.assertions.contains(keyword) && !Self.annotations.contains(keyword) && !keyword.hasPrefix("x-") {
            problems.append("\(path): unsupported schema keyword '\(keyword)'")
        }
        if let reference = keywords["$ref"], reference.stringValue.flatMap(resolve) == nil {
            problems.append("\(path): cannot resolve $ref \(reference)")
        }
        for (name, property) in (keywords["properties"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            problems += schemaProblems(property, path: "\(path)/properties/\(name)")
        }
        for keyword in ["items", "additionalProperties"] {
            if let subschema = keywords[keyword] { problems += schemaProblems(subschema, path: "\(path)/\(keyword)") }
        }
        for keyword in ["oneOf", "anyOf", "allOf"] {
            for (index, subschema) in (keywords[keyword]?.arrayValue ?? []).enumerated() {
                problems += schemaProblems(subschema, path: "\(path)/\(keyword)/\(index)")
            }
        }
        return problems
    }

    /// The schema a local `$ref` (`#/a/b`) points to, or nil.
    public func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for token in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let object = node.objectValue, let next = object[key] {
                node = next
            } else if let array = node.arrayValue, let index = Int(key), array.indices.contains(index) {
                node = array[index]
            } else {
                return nil
            }
        }
        return node
    }

    private func check(_ value: JSONValue, _ schema: JSONValue, path: String, depth: Int, into problems: inout [String])
    {
        guard depth < 64 else {
            problems.append("\(path): $ref nesting deeper than 64 (a reference cycle?)")
            return
        }
        if case .bool(let allowed) = schema {
            if !allowed { problems.append("\(path): no value is allowed here") }
            return
        }
        guard let keywords = schema.objectValue else {
            problems.append("\(path): the schema is \(schema.typeName), not an object or a boolean")
            return
        }
        for keyword in keywords.keys.sorted()
        where !Self.assertions.contains(keyword) && !Self.annotations.contains(keyword) && !keyword.hasPrefix("x-") {
            problems.append("\(path): unsupported schema keyword '\(keyword)'")
        }
        if let reference = keywords["$ref"] {
            if let text = reference.stringValue, let target = resolve(text) {
                check(value, target, path: path, depth: depth + 1, into: &problems)
            } else {
                problems.append("\(path): cannot resolve $ref \(reference)")
            }
        }
        if let type = keywords["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
            if !names.contains(where: { Self.value(value, hasType: $0) }) {
                problems.append("\(path): expected \(names.joined(separator: " or ")), got \(value.typeName)")
                return
            }
        }
        if let options = keywords["enum"]?.arrayValue, !options.contains(value) {
            problems.append("\(path): \(value) is not one of \(JSONValue.array(options))")
        }
        if let constant = keywords["const"], constant != value {
            problems.append("\(path): \(value) is not \(constant)")
        }
        checkNumber(value, keywords, path: path, into: &problems)
        if let object = value.objectValue {
            checkObject(object, keywords, path: path, depth: depth, into: &problems)
        }
        if let array = value.arrayValue {
            checkArray(array, keywords, path: path, depth: depth, into: &problems)
        }
        checkCombinations(value, keywords, path: path, depth: depth, into: &problems)
    }

    private func checkNumber(
        _ value: JSONValue, _ keywords: [String: JSONValue], path: String, into problems: inout [String]
    ) {
        if let number = value.doubleValue {
            if let minimum = keywords["minimum"]?.doubleValue, number < minimum {
                problems.append("\(path): \(value) is less than \(minimum)")
            }
            if let maximum = keywords["maximum"]?.doubleValue, number > maximum {
                problems.append("\(path): \(value) is more than \(maximum)")
            }
        }
        if let text = value.stringValue {
            if let minimum = keywords["minLength"]?.int64Value, text.unicodeScalars.count < minimum {
                problems.append("\(path): shorter than \(minimum) characters")
            }
            if let maximum = keywords["maxLength"]?.int64Value, text.unicodeScalars.count > maximum {
                problems.append("\(path): longer than \(maximum) characters")
            }
            if let pattern = keywords["pattern"]?.stringValue {
                if let regex = try? NSRegularExpression(pattern: pattern) {
                    let range = NSRange(text.startIndex..., in: text)
                    if regex.firstMatch(in: text, range: range) == nil {
                        problems.append("\(path): does not match \(pattern)")
                    }
                } else {
                    problems.append("\(path): the pattern \(pattern) does not compile")
                }
            }
        }
    }

    private func checkObject(
        _ object: [String: JSONValue], _ keywords: [String: JSONValue], path: String, depth: Int,
        into problems: inout [String]
    ) {
        let properties = keywords["properties"]?.objectValue ?? [:]
        for name in keywords["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[name] == nil {
            problems.append("\(path): missing required property '\(name)'")
        }
        for (name, member) in object.sorted(by: { $0.key < $1.key }) {
            let memberPath = "\(path).\(name)"
            if let schema = properties[name] {
                check(member, schema, path: memberPath, depth: depth, into: &problems)
            } else if let additional = keywords["additionalProperties"] {
                if case .bool(false) = additional {
                    problems.append("\(path): property '\(name)' is not allowed")
                } else {
                    check(member, additional, path: memberPath, depth: depth, into: &problems)
                }
            }
        }
    }

    private func checkArray(
        _ array: [JSONValue], _ keywords: [String: JSONValue], path: String, depth: Int, into problems: inout [String]
    ) {
        if let minimum = keywords["minItems"]?.int64Value, array.count < minimum {
            problems.append("\(path): \(array.count) items, fewer than \(minimum)")
        }
        if let maximum = keywords["maxItems"]?.int64Value, array.count > maximum {
            problems.append("\(path): \(array.count) items, more than \(maximum)")
        }
        if let items = keywords["items"] {
            for (index, item) in array.enumerated() {
                check(item, items, path: "\(path)[\(index)]", depth: depth, into: &problems)
            }
        }
    }

    private func checkCombinations(
        _ value: JSONValue, _ keywords: [String: JSONValue], path: String, depth: Int, into problems: inout [String]
    ) {
        for schema in keywords["allOf"]?.arrayValue ?? [] {
            check(value, schema, path: path, depth: depth + 1, into: &problems)
        }
        if let options = keywords["anyOf"]?.arrayValue {
            let results = options.map { self.problems(of: value, $0, path: path, depth: depth + 1) }
            if !results.contains(where: \.isEmpty) {
                problems.append("\(path): matches none of anyOf: \(Self.summary(results))")
            }
        }
        if let options = keywords["oneOf"]?.arrayValue {
            let results = options.map { self.problems(of: value, $0, path: path, depth: depth + 1) }
            let matches = results.filter(\.isEmpty).count
            if matches == 0 {
                problems.append("\(path): matches none of oneOf: \(Self.summary(results))")
            } else if matches > 1 {
                problems.append("\(path): matches \(matches) schemas of oneOf, not exactly one")
            }
        }
    }

    private func problems(of value: JSONValue, _ schema: JSONValue, path: String, depth: Int) -> [String] {
        var problems: [String] = []
        check(value, schema, path: path, depth: depth, into: &problems)
        return problems
    }

    private static func summary(_ results: [[String]]) -> String {
        results.enumerated().map { "[\($0.offset)] \($0.element.joined(separator: "; "))" }.joined(separator: " | ")
    }

    /// Whether `value` is an instance of the JSON Schema type `name` (an integral number is an `integer`).
    static func value(_ value: JSONValue, hasType name: String) -> Bool {
        switch (name, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): true
        case ("integer", .int), ("number", .int), ("number", .double): true
        case ("integer", .double(let number)): number.rounded() == number
        default: false
        }
    }
}
