/// A compiled expression of Tether's small language for match conditions, keys and priorities.
///
/// Paths start at `event` (the triggering event) or `async` (the event a wait or `cancelOn`
/// is tested against): `event.data.customerId`, `event.data.items[0].sku`,
/// `event.data["weird key"]`. Literals are numbers, strings in single or double quotes,
/// `true`, `false` and `null`. Operators, loosest first: `||`, `&&`, `== !=`, `< <= > >=`,
/// `+ -`, then unary `! -`; parentheses group.
///
/// Evaluation never fails:
/// - a missing path is `null`;
/// - `==` and `!=` compare by value (`1 == 1.0`, `null == null`, arrays and objects deeply);
/// - `< <= > >=` order two numbers or two strings (by code point), and are `false` otherwise;
/// - `+` adds numbers or joins two strings, `-` subtracts numbers; other operand types give `null`;
/// - `!`, `&&` and `||` use truthiness (see `JSONValue.isTruthy`), short-circuit, and give a boolean.
///
/// ```swift
/// let match = try Expression(parsing: "async.data.orderId == event.data.orderId && async.data.total > 100")
/// match.matches(event: trigger, async: incoming)
/// ```
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// Longest source accepted, in UTF-8 bytes.
    public static let maxSourceBytes = 4 * 1024
    /// Deepest nesting of parentheses and unary operators accepted.
    public static let maxNestingDepth = 64

    /// The text the expression was parsed from.
    public let source: String
    let root: ExpressionNode

    /// Parses `source`, rejecting it with the position of the first error.
    ///
    /// - Throws: ``ExpressionError`` for a syntax error, an unknown root name, a source longer
    ///   than ``maxSourceBytes`` or nesting deeper than ``maxNestingDepth``.
    public init(parsing source: String) throws(ExpressionError) {
        let byteCount = source.utf8.count
        guard byteCount <= Self.maxSourceBytes else {
            throw ExpressionError(
                "expression is \(byteCount) bytes, longer than the limit of \(Self.maxSourceBytes)",
                at: 0,
                in: Array(source.prefix(80))
            )
        }
        var parser = try ExpressionParser(Array(source))
        self.root = try parser.parse()
        self.source = source
    }

    /// Evaluates the expression against the triggering `event` and, for wait matches, the
    /// incoming `async` event (`async` paths are `null` when it is nil). Never fails.
    public func evaluate(event: JSONValue, async: JSONValue? = nil) -> JSONValue {
        root.evaluate(event: event, async: async)
    }

    /// Whether the expression's value is truthy (see `JSONValue.isTruthy`).
    public func matches(event: JSONValue, async: JSONValue? = nil) -> Bool {
        evaluate(event: event, async: async).isTruthy
    }

    /// The source text.
    public var description: String { source }

    /// Two expressions are equal when their sources are.
    public static func == (lhs: Expression, rhs: Expression) -> Bool {
        lhs.source == rhs.source
    }

    /// Hashes the source.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
    }
}
