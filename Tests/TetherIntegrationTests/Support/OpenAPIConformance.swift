import Foundation
import Testing
import TetherEngine
import TetherTestSupport

@testable import TetherCoordinator

/// Checks live answers against the OpenAPI document a coordinator serves: the status must be
/// documented for the operation, the content type must be one it declares, and a JSON body
/// must validate against the declared schema. Remembers what it saw, for a coverage check.
final class OpenAPIConformance {
    let document: JSONValue
    let validator: JSONSchemaValidator
    /// `METHOD /path/template status` of every answer checked.
    private(set) var seen: Set<String> = []

    init(document: JSONValue) {
        self.document = document
        validator = JSONSchemaValidator(root: document)
    }

    /// The response object the document declares, or nil.
    func declaredResponse(_ method: String, _ template: String, _ status: Int) -> JSONValue? {
        guard let response = document["paths"]?[template]?[method.lowercased()]?["responses"]?[String(status)] else {
            return nil
        }
        guard let reference = response["$ref"]?.stringValue, let name = reference.split(separator: "/").last else {
            return response
        }
        return document["components"]?["responses"]?[String(name)]
    }

    /// `METHOD /path` of every operation the document describes.
    static func operations(in document: JSONValue) -> Set<RegisteredRoute> {
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var operations: Set<RegisteredRoute> = []
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys where methods.contains(method) {
                operations.insert(RegisteredRoute(method: method.uppercased(), path: path))
            }
        }
        return operations
    }

    /// Checks one answer to `method template` (e.g. `GET /v1/runs/{id}`): that it has
    /// `status`, and that the document describes it exactly.
    func check(
        _ exchange: HTTPExchange, _ method: String, _ template: String, _ status: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let label = "\(method) \(template) \(exchange.status)"
        #expect(exchange.status == status, "\(label): \(exchange.text.prefix(300))", sourceLocation: sourceLocation)
        seen.insert(label)
        guard let response = declaredResponse(method, template, exchange.status) else {
            Issue.record("\(label): this status is not in the document", sourceLocation: sourceLocation)
            return
        }
        let mediaType = Self.mediaType(exchange.contentType)
        let content = response["content"]?.objectValue ?? [:]
        guard let media = content.first(where: { Self.mediaType($0.key) == mediaType })?.value else {
            Issue.record(
                "\(label): content type '\(exchange.contentType)' is not one of \(content.keys.sorted())",
                sourceLocation: sourceLocation)
            return
        }
        guard mediaType == "application/json" else { return }
        guard let body = try? JSONValue(parsing: exchange.body) else {
            Issue.record("\(label): the body is not JSON: \(exchange.text.prefix(300))", sourceLocation: sourceLocation)
            return
        }
        validate(body, against: media["schema"] ?? .null, label, sourceLocation: sourceLocation)
        if exchange.status >= 400 {
            // The error code is one the document lists for this answer.
            let listed = (response["x-error-codes"]?.arrayValue ?? []).compactMap(\.stringValue)
            let code = body["error"]?["code"]?.stringValue ?? ""
            #expect(listed.contains(code), "\(label): code '\(code)' is not one of \(listed)", sourceLocation: sourceLocation)
        }
    }

    /// The problems of a request body under the operation's declared JSON request schema.
    func requestProblems(_ body: JSONValue, _ method: String, _ template: String) -> [String] {
        let operation = document["paths"]?[template]?[method.lowercased()]
        guard let schema = operation?["requestBody"]?["content"]?["application/json"]?["schema"] else {
            return ["\(method) \(template): no JSON request body is declared"]
        }
        return validator.problems(body, against: schema)
    }

    /// Validates `value` against `schema`, recording every problem.
    func validate(
        _ value: JSONValue, against schema: JSONValue, _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let problems = validator.problems(value, against: schema)
        #expect(problems == [], "\(label): \(value.description.prefix(600))", sourceLocation: sourceLocation)
    }

    /// `text/plain` of `text/plain; version=0.0.4; charset=utf-8`.
    static func mediaType(_ contentType: String) -> String {
        String(contentType.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// `METHOD /path` of every operation in the document, with the statuses it declares.
    var declared: [String: Set<Int>] {
        var declared: [String: Set<Int>] = [:]
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:] where method != "parameters" {
                declared["\(method.uppercased()) \(path)"] = Set(
                    (operation["responses"]?.objectValue ?? [:]).keys.compactMap { Int($0) })
            }
        }
        return declared
    }
}
