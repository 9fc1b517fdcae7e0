/// One token of an expression, with its span in the source (character offsets).
struct ExpressionToken: Equatable {
    enum Kind: Equatable {
        case number(JSONValue)
        case string(String)
        case name(String)
        case dot, openBracket, closeBracket, openParen, closeParen
        case not, equal, notEqual, less, lessEqual, greater, greaterEqual, and, or, plus, minus
        case end
    }

    var kind: Kind
    /// Offset of the first character.
    var start: Int
    /// Offset just past the last character.
    var end: Int
}
