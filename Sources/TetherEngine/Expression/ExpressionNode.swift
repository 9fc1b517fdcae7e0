/// The parsed form of an expression.
///
/// Chains of one precedence level are flat lists, not nested nodes, so a long `a || b || …`
/// or `1 + 2 + …` is evaluated in a loop and the tree is only as deep as the source's
/// parentheses and unary operators (bounded by `Expression.maxNestingDepth`).
indirect enum ExpressionNode: Sendable, Hashable {
    case literal(JSONValue)
    case path(Expression.Root, [PathComponent])
    case not(ExpressionNode)
    case negate(ExpressionNode)
    /// Short-circuit conjunction of two or more terms.
    case and([ExpressionNode])
    /// Short-circuit disjunction of two or more terms.
    case or([ExpressionNode])
    /// A left-associative chain of one precedence level: `first op₁ x₁ op₂ x₂ …`.
    case chain(ExpressionNode, [ChainLink])

    struct ChainLink: Sendable, Hashable {
        var op: BinaryOperator
        var operand: ExpressionNode
    }
}

/// The binary operators other than `&&` and `||`.
enum BinaryOperator: String, Sendable, Hashable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="
    case plus = "+"
    case minus = "-"
}
