/// One step of a path into a JSON value: an object member or an array element.
public enum PathComponent: Hashable, Sendable {
    /// An object member: `.name` or `["name"]`.
    case key(String)
    /// An array element: `[0]`.
    case index(Int)
}

extension PathComponent: CustomStringConvertible {
    /// The component as written in an expression: `.name`, `["weird key"]` or `[0]`.
    public var description: String {
        switch self {
        case .index(let index):
            return "[\(index)]"
        case .key(let key):
            let isPlainName =
                !key.isEmpty && key.first.map { ExpressionLexer.isNameStart($0) } == true
                && key.allSatisfy(ExpressionLexer.isNameContinuation)
            return isPlainName ? ".\(key)" : "[\(JSONValue.string(key))]"
        }
    }
}
