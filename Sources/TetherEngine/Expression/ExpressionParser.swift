/// A recursive-descent parser for the expression grammar, lowest precedence first:
///
/// ```
/// or         = and ("||" and)*
/// and        = equality ("&&" equality)*
/// equality   = relational (("==" | "!=") relational)*
/// relational = additive (("<" | "<=" | ">" | ">=") additive)*
/// additive   = unary (("+" | "-") unary)*
/// unary      = ("!" | "-") unary | primary
/// primary    = number | string | "true" | "false" | "null" | path | "(" or ")"
/// path       = ("event" | "async") ("." name | "[" (integer | string) "]")*
/// ```
///
/// Recursion only happens through `(` and unary operators, and both count against
/// `Expression.maxNestingDepth`, so no input can overflow the stack.
struct ExpressionParser {
    private var lexer: ExpressionLexer
    private var token: ExpressionToken
    private var depth = 0

    init(_ source: [Character]) throws(ExpressionError) {
        lexer = ExpressionLexer(source)
        token = try lexer.next()
    }

    /// Parses the whole source as one expression.
    mutating func parse() throws(ExpressionError) -> ExpressionNode {
        if token.kind == .end { throw failure("empty expression", at: token.start) }
        let node = try parseOr()
        guard token.kind == .end else {
            var hint = "expected an operator such as '==' or '&&'"
            if token.kind == .closeParen { hint = "it closes no '('" }
            if case .name(let name) = token.kind, let better = Self.hint(forUnknownName: name) { hint = better }
            throw failure("unexpected \(describe(token))", hint: hint, at: token.start)
        }
        return node
    }

    private mutating func advance() throws(ExpressionError) {
        token = try lexer.next()
    }

    // MARK: Binary levels

    private mutating func parseOr() throws(ExpressionError) -> ExpressionNode {
        var terms = [try parseAnd()]
        while token.kind == .or {
            try advance()
            terms.append(try parseAnd())
        }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    private mutating func parseAnd() throws(ExpressionError) -> ExpressionNode {
        var terms = [try parseChain(.equality)]
        while token.kind == .and {
            try advance()
            terms.append(try parseChain(.equality))
        }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    private enum Level {
        case equality, relational, additive
    }

    private mutating func parseChain(_ level: Level) throws(ExpressionError) -> ExpressionNode {
        let first = try parseOperand(of: level)
        var links: [ExpressionNode.ChainLink] = []
        while let op = Self.binaryOperator(token.kind, at: level) {
            try advance()
            links.append(.init(op: op, operand: try parseOperand(of: level)))
        }
        return links.isEmpty ? first : .chain(first, links)
    }

    private mutating func parseOperand(of level: Level) throws(ExpressionError) -> ExpressionNode {
        switch level {
        case .equality: return try parseChain(.relational)
        case .relational: return try parseChain(.additive)
        case .additive: return try parseUnary()
        }
    }

    private static func binaryOperator(_ kind: ExpressionToken.Kind, at level: Level) -> BinaryOperator? {
        switch (level, kind) {
        case (.equality, .equal): return .equal
        case (.equality, .notEqual): return .notEqual
        case (.relational, .less): return .less
        case (.relational, .lessEqual): return .lessEqual
        case (.relational, .greater): return .greater
        case (.relational, .greaterEqual): return .greaterEqual
        case (.additive, .plus): return .plus
        case (.additive, .minus): return .minus
        default: return nil
        }
    }

    // MARK: Unary and primary

    private mutating func parseUnary() throws(ExpressionError) -> ExpressionNode {
        switch token.kind {
        case .not:
            try enterNesting()
            try advance()
            let operand = try parseUnary()
            depth -= 1
            return .not(operand)
        case .minus:
            try enterNesting()
            try advance()
            let operand = try parseUnary()
            depth -= 1
            // Fold `-5` into a literal so that constants look like constants.
            if case .literal(let value) = operand, value.isNumber {
                return .literal(ExpressionNode.negate(value))
            }
            return .negate(operand)
        default:
            return try parsePrimary()
        }
    }

    private mutating func parsePrimary() throws(ExpressionError) -> ExpressionNode {
        switch token.kind {
        case .number(let value):
            try advance()
            return .literal(value)
        case .string(let value):
            try advance()
            return .literal(.string(value))
        case .name(let name):
            switch name {
            case "true":
                try advance()
                return .literal(.bool(true))
            case "false":
                try advance()
                return .literal(.bool(false))
            case "null":
                try advance()
                return .literal(.null)
            case "event": return try parsePath(.event)
            case "async": return try parsePath(.async)
            default:
                throw failure(
                    "unknown name '\(name)', expected event or async",
                    hint: Self.hint(forUnknownName: name),
                    at: token.start
                )
            }
        case .openParen:
            let open = token.start
            try enterNesting()
            try advance()
            let inner = try parseOr()
            guard token.kind == .closeParen else {
                let opening = failure("", at: open)
                throw failure(
                    "expected ')'", hint: "to close the '(' at \(opening.line):\(opening.column)", at: token.start)
            }
            try advance()
            depth -= 1
            return inner
        case .end:
            throw failure("unexpected end of expression, expected a value", at: token.start)
        default:
            throw failure("unexpected \(describe(token)), expected a value", at: token.start)
        }
    }

    private mutating func parsePath(_ root: Expression.Root) throws(ExpressionError) -> ExpressionNode {
        try advance()
        var components: [PathComponent] = []
        while true {
            switch token.kind {
            case .dot:
                try advance()
                guard case .name(let name) = token.kind else {
                    var hint: String? = nil
                    if case .number(.int(let index)) = token.kind { hint = "use [\(index)] for an array index" }
                    throw failure("expected a field name after '.'", hint: hint, at: token.start)
                }
                components.append(.key(name))
                try advance()
            case .openBracket:
                try advance()
                switch token.kind {
                case .number(.int(let index)) where index <= Int.max:
                    components.append(.index(Int(index)))
                case .string(let key):
                    components.append(.key(key))
                case .minus, .number:
                    throw failure("an array index must be a non-negative integer", at: token.start)
                default:
                    throw failure("expected an index or a quoted key inside '[ ]'", at: token.start)
                }
                try advance()
                guard token.kind == .closeBracket else { throw failure("expected ']'", at: token.start) }
                try advance()
            default:
                return .path(root, components)
            }
        }
    }

    // MARK: Helpers

    private mutating func enterNesting() throws(ExpressionError) {
        depth += 1
        if depth > Expression.maxNestingDepth {
            throw failure(
                "expression is nested too deeply (more than \(Expression.maxNestingDepth) levels)", at: token.start)
        }
    }

    private func describe(_ token: ExpressionToken) -> String {
        if token.kind == .end { return "end of expression" }
        var text = String(lexer.source[token.start..<token.end])
        if text.count > 24 { text = String(text.prefix(21)) + "..." }
        return "'\(text)'"
    }

    private func failure(_ message: String, hint: String? = nil, at position: Int) -> ExpressionError {
        ExpressionError(message, hint: hint, at: position, in: lexer.source)
    }

    private static func hint(forUnknownName name: String) -> String? {
        switch name {
        case "and", "AND": return "did you mean '&&'?"
        case "or", "OR": return "did you mean '||'?"
        case "not", "NOT": return "did you mean '!'?"
        case "True", "TRUE": return "did you mean 'true'?"
        case "False", "FALSE": return "did you mean 'false'?"
        case "nil", "None", "NULL", "Null", "undefined": return "did you mean 'null'?"
        case "Event", "EVENT", "events", "evt": return "did you mean 'event'?"
        case "data", "name", "id", "ts": return "paths start at event or async, e.g. event.\(name)"
        default: return nil
        }
    }
}
