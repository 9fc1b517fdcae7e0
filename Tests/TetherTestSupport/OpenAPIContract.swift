import Foundation
import TetherEngine

/// The HTTP API's OpenAPI document as tests read it: operations, the response declared for a
/// status (`$ref`s to `components/responses` resolved), and whether one answer is exactly what
/// the document declares. The in-memory route tests and the live conformance checks share it.
public struct OpenAPIContract: Sendable {
    public let document: JSONValue
    public let validator: JSONSchemaValidator

    public init(document: JSONValue) {
        self.document = document
        validator = JSONSchemaValidator(root: document)
    }

    /// `(METHOD, /path/template)` of every operation.
    public var operations: [(method: String, path: String)] {
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        return (document["paths"]?.objectValue ?? [:]).flatMap { path, item in
            (item.objectValue ?? [:]).keys.filter(methods.contains).map { (method: $0.uppercased(), path: path) }
        }
    }

    /// A response object, or the one `#/components/responses/<name>` it refers to.
    public func resolve(_ response: JSONValue) -> JSONValue {
        guard let reference = response["$ref"]?.stringValue, let name = reference.split(separator: "/").last else {
            return response
        }
        return document["components"]?["responses"]?[String(name)] ?? .null
    }

    /// The response declared for `method template status`, or nil when that status is not documented.
    public func response(_ method: String, _ template: String, _ status: Int) -> JSONValue? {
        document["paths"]?[template]?[method.lowercased()]?["responses"]?[String(status)].map(resolve)
    }

    /// Everything wrong with one answer to `method template` under the document: its status is
    /// declared, its content type is one the response declares, a JSON body validates against
    /// the declared schema, and an error's code is one the response lists in `x-error-codes`.
    /// Empty when the answer is exactly what the document says.
    public func answerProblems(
        _ method: String, _ template: String, status: Int, contentType: String, body: [UInt8]
    ) -> [String] {
        let label = "\(method) \(template) \(status)"
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        guard let response = response(method, template, status) else {
            return ["\(label): this status is not in the document (\(text))"]
        }
        let mediaType = Self.mediaType(contentType)
        let content = response["content"]?.objectValue ?? [:]
        guard let media = content.first(where: { Self.mediaType($0.key) == mediaType })?.value else {
            return ["\(label): content type '\(contentType)' is not one of \(content.keys.sorted())"]
        }
        guard mediaType == "application/json" else { return [] }
        guard let json = try? JSONValue(parsing: body) else {
            return ["\(label): the body is not JSON: \(text)"]
        }
        var problems = validator.problems(json, against: media["schema"] ?? .null).map { "\(label): \($0)" }
        if status >= 400 {
            let listed = (response["x-error-codes"]?.arrayValue ?? []).compactMap(\.stringValue)
            let code = json["error"]?["code"]?.stringValue ?? ""
            if !listed.contains(code) { problems.append("\(label): code '\(code)' is not one of \(listed)") }
        }
        return problems
    }

    /// `text/plain` of `text/plain; version=0.0.4; charset=utf-8`.
    public static func mediaType(_ contentType: String) -> String {
        String(contentType.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }
}
