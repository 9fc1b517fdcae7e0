/// Makes text from a peer safe to log: control characters (newlines among them) escaped, so
/// a value cannot forge a log line, and capped, so a value cannot flood the log.
enum LogText {
    /// Longest value logged, in characters; longer ones are cut and marked with their length.
    static let maxCharacters = 128

    static func escaped(_ text: String, max limit: Int = maxCharacters) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                return result + "…(\(text.utf8.count) bytes)"
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
                    || scalar.value == 0x2028 || scalar.value == 0x2029
                {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
            count += 1
        }
        return result
    }
}

/// Lets one log line through per interval and counts the ones it held back, so that a peer
/// repeating a bad request cannot flood the log.
struct RateLimitedLog {
    let intervalMilliseconds: Int64
    private var lastAtMilliseconds: Int64 = .min
    private var suppressed = 0

    init(intervalMilliseconds: Int64) {
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Calls `log` with the number of lines suppressed since the last one, if one is due.
    mutating func record(now: Int64, _ log: (Int) -> Void) {
        if lastAtMilliseconds != .min, now - lastAtMilliseconds < intervalMilliseconds {
            suppressed += 1
            return
        }
        lastAtMilliseconds = now
        log(suppressed)
        suppressed = 0
    }
}
