import Foundation
import Testing
import TetherEngine
import TetherTestSupport

@testable import TetherCoordinator

/// Checks live answers against the OpenAPI document a coordinator serves: the status must be
/// documented for the operation, the content type must be one it declares, and a JSON body
/// must validate against the declared schema. Remembers what it saw, for a coverage check.
final class OpenAPIConformance {
    let contract: OpenAPIContract
    var document: JSONValue { contract.document }
    var validator: JSONSchemaValidator { contract.validator }
    /// `METHOD /path/template status` of every answer checked.
    private(set) var seen: Set<String> = []

    init(document: JSONValue) {
        contract = OpenAPIContract(document: document)
    }

    /// The response object the document declares, or nil.
    func declaredResponse(_ method: String, _ template: String, _ status: Int) -> JSONValue? {
        contract.response(method, template, status)
    }

    /// `METHOD /path` of every operation the document describes.
    static func operations(in document: JSONValue) -> Set<RegisteredRoute> {
        Set(OpenAPIContract(document: document).operations.map { RegisteredRoute(method: $0.method, path: $0.path) })
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
        let problems = contract.answerProblems(
            method, template, status: exchange.status, contentType: exchange.contentType, body: exchange.body)
        #expect(problems == [], sourceLocation: sourceLocation)
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
