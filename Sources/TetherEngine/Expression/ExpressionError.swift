/// Why an expression was rejected, and where: a message, an optional hint and the position.
///
/// `description` reads `expected ')' at 1:17`; ``caretDescription`` points at the spot:
/// ```
/// event.data.x = 1
///              ^ unexpected '=' (did you mean '=='?)
/// ```
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, e.g. `unexpected '='`.
    public var message: String
    /// A suggestion for fixing it, e.g. `did you mean '=='?`, when there is one.
    public var hint: String?
    /// 0-based offset of the error in the source, in characters (grapheme clusters).
    public var position: Int
    /// 1-based line of ``position``.
    public var line: Int
    /// 1-based column of ``position`` within its line, in characters.
    public var column: Int
    /// The source line that holds the error, without its line break.
    public var sourceLine: String

    /// Creates an error from its parts.
    public init(message: String, hint: String? = nil, position: Int, line: Int, column: Int, sourceLine: String) {
        self.message = message
        self.hint = hint
        self.position = position
        self.line = line
        self.column = column
        self.sourceLine = sourceLine
    }

    /// Creates an error at `position` in `source`, working out the line, column and source line.
    init(_ message: String, hint: String? = nil, at position: Int, in source: [Character]) {
        let position = max(0, min(position, source.count))
        var lineStart = 0
        var line = 1
        for offset in 0..<position where source[offset].isNewline {
            line += 1
            lineStart = offset + 1
        }
        var lineEnd = position
        while lineEnd < source.count, !source[lineEnd].isNewline { lineEnd += 1 }
        self.init(
            message: message,
            hint: hint,
            position: position,
            line: line,
            column: position - lineStart + 1,
            sourceLine: String(source[lineStart..<lineEnd])
        )
    }

    /// The message, the position as `line:column`, and the hint: `unexpected '=' at 1:14 (did you mean '=='?)`.
    public var description: String {
        "\(message) at \(line):\(column)" + (hint.map { " (\($0))" } ?? "")
    }

    /// Two lines for a terminal: the source line, then a caret under the error with the message.
    public var caretDescription: String {
        // Keep tabs so that the caret lines up under the same character.
        let padding = sourceLine.prefix(column - 1).map { $0 == "\t" ? "\t" : " " }.joined()
        return sourceLine + "\n" + padding + "^ " + message + (hint.map { " (\($0))" } ?? "")
    }
}
