extension ExpressionNode {
    /// Evaluates the node. Never fails: missing paths are `null`, and operators applied to
    /// the wrong types give `null` (arithmetic) or `false` (ordering).
    func evaluate(event: JSONValue, async: JSONValue?) -> JSONValue {
        switch self {
        case .literal(let value):
            return value
        case .path(let root, let components):
            let base: JSONValue =
                switch root {
                case .event: event
                case .async: async ?? .null
                }
            return Expression.resolve(components, in: base)
        case .not(let operand):
            return .bool(!operand.evaluate(event: event, async: async).isTruthy)
        case .negate(let operand):
            return Self.negate(operand.evaluate(event: event, async: async))
        case .and(let terms):
            for term in terms where !term.evaluate(event: event, async: async).isTruthy { return .bool(false) }
            return .bool(true)
        case .or(let terms):
            for term in terms where term.evaluate(event: event, async: async).isTruthy { return .bool(true) }
            return .bool(false)
        case .chain(let first, let links):
            var result = first.evaluate(event: event, async: async)
            for link in links {
                result = link.op.apply(result, link.operand.evaluate(event: event, async: async))
            }
            return result
        }
    }

    /// `-value` for a number (an `Int64.min` negates to a double), otherwise `null`.
    static func negate(_ value: JSONValue) -> JSONValue {
        switch value {
        case .int(let integer):
            return integer == .min ? .double(-Double(integer)) : .int(-integer)
        case .double(let double):
            return .double(-double)
        default:
            return .null
        }
    }
}

extension BinaryOperator {
    /// The longest string `+` builds; a longer concatenation gives `null`.
    static let maxConcatenationBytes = 1 << 20

    func apply(_ lhs: JSONValue, _ rhs: JSONValue) -> JSONValue {
        switch self {
        case .equal: return .bool(lhs == rhs)
        case .notEqual: return .bool(lhs != rhs)
        case .less: return .bool(Self.order(lhs, rhs).map { $0 < 0 } ?? false)
        case .lessEqual: return .bool(Self.order(lhs, rhs).map { $0 <= 0 } ?? false)
        case .greater: return .bool(Self.order(lhs, rhs).map { $0 > 0 } ?? false)
        case .greaterEqual: return .bool(Self.order(lhs, rhs).map { $0 >= 0 } ?? false)
        case .plus:
            if case .string(let a) = lhs, case .string(let b) = rhs {
                guard a.utf8.count + b.utf8.count <= Self.maxConcatenationBytes else { return .null }
                return .string(a + b)
            }
            return Self.arithmetic(lhs, rhs, subtract: false)
        case .minus:
            return Self.arithmetic(lhs, rhs, subtract: true)
        }
    }

    /// Numbers order numerically and exactly, strings by Unicode code point (UTF-8 bytes); anything else is unordered.
    private static func order(_ lhs: JSONValue, _ rhs: JSONValue) -> Int? {
        if case .string(let a) = lhs, case .string(let b) = rhs {
            if a == b { return 0 }
            return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
        }
        return JSONValue.numericOrder(lhs, rhs)
    }

    /// Integer arithmetic while it fits in `Int64`, double arithmetic otherwise; `null` for
    /// non-numbers or an overflow to infinity.
    private static func arithmetic(_ lhs: JSONValue, _ rhs: JSONValue, subtract: Bool) -> JSONValue {
        if case .int(let a) = lhs, case .int(let b) = rhs {
            let (result, overflow) = subtract ? a.subtractingReportingOverflow(b) : a.addingReportingOverflow(b)
            if !overflow { return .int(result) }
        }
        guard let a = lhs.doubleValue, let b = rhs.doubleValue else { return .null }
        let result = subtract ? a - b : a + b
        return result.isFinite ? .double(result) : .null
    }
}
