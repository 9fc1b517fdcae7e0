import Foundation

extension DecodingError {
    /// A short, readable account of what didn't decode and where, such as `data.amount: Expected to decode
    /// Int but found a string instead.` or `missing field data.orderId`.
    ///
    /// - Parameter root: The name of the decoded value, the start of the path.
    func reason(root: String) -> String {
        switch self {
        case .keyNotFound(let key, let context):
            return "missing field \(Self.path(context.codingPath + [key], root: root))"
        case .valueNotFound(let type, let context):
            return "\(Self.path(context.codingPath, root: root)) is null, expected \(type)"
        case .typeMismatch(_, let context):
            return "\(Self.path(context.codingPath, root: root)): \(Self.trimmed(context.debugDescription))"
        case .dataCorrupted(let context):
            var reason = "\(Self.path(context.codingPath, root: root)): \(Self.trimmed(context.debugDescription))"
            if let underlying = context.underlyingError {
                reason += " (\(underlying))"
            }
            return reason
        @unknown default:
            return "\(root): \(self)"
        }
    }

    /// Foundation's descriptions end with a period; ours are embedded in a sentence.
    private static func trimmed(_ description: String) -> String {
        description.hasSuffix(".") ? String(description.dropLast()) : description
    }

    private static func path(_ codingPath: [any CodingKey], root: String) -> String {
        codingPath.reduce(into: root) { path, key in
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += ".\(key.stringValue)"
            }
        }
    }
}
