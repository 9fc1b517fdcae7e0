/// One of the five fields of a cron schedule, and how to parse it into a set of values.
enum CronField: Int, CaseIterable, Sendable {
    case minute, hour, dayOfMonth, month, dayOfWeek

    /// The field's name in messages.
    var name: String {
        switch self {
        case .minute: return "minute"
        case .hour: return "hour"
        case .dayOfMonth: return "day-of-month"
        case .month: return "month"
        case .dayOfWeek: return "day-of-week"
        }
    }

    /// The values one may write; day-of-week accepts 7 as a second Sunday.
    var bounds: ClosedRange<Int> {
        switch self {
        case .minute: return 0...59
        case .hour: return 0...23
        case .dayOfMonth: return 1...31
        case .month: return 1...12
        case .dayOfWeek: return 0...7
        }
    }

    /// The values `*` stands for (day-of-week without the second Sunday).
    private var starRange: ClosedRange<Int> {
        self == .dayOfWeek ? 0...6 : bounds
    }

    /// Three-letter names and their values, for month and day-of-week.
    private var names: [String: Int] {
        switch self {
        case .month:
            let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
            return Dictionary(uniqueKeysWithValues: months.enumerated().map { ($1, $0 + 1) })
        case .dayOfWeek:
            let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
            return Dictionary(uniqueKeysWithValues: days.enumerated().map { ($1, $0) })
        default:
            return [:]
        }
    }

    /// The parsed field: a bit per allowed value, and whether it starts with `*`.
    struct Values: Sendable, Hashable {
        var bits: UInt64
        /// Whether the field was written starting with `*` (`*`, `*/15`): such a field does not
        /// restrict the day for the day-of-month/day-of-week rule, and an hour field written so
        /// follows real time across a daylight-saving fall-back.
        var isStar: Bool

        func contains(_ value: Int) -> Bool {
            value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0
        }

        /// The smallest allowed value at or above `value`, if any.
        func next(atOrAfter value: Int) -> Int? {
            guard value < 64 else { return nil }
            let masked = bits & (~0 << UInt64(max(0, value)))
            return masked == 0 ? nil : masked.trailingZeroBitCount
        }
    }

    /// Parses a comma-separated list of `*`, `N`, `N-M`, each with an optional `/step`.
    func parse(_ text: Substring) throws(CronError) -> Values {
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw failure("empty item in list '\(text)'") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw failure("'\(item)' has more than one '/'") }
            let rangeText = parts[0]
            let step = parts.count == 2 ? try parseStep(parts[1]) : 1
            let range: ClosedRange<Int>
            if rangeText == "*" {
                range = starRange
            } else if let dash = rangeText.firstIndex(of: "-") {
                let low = try parseValue(rangeText[..<dash], in: item)
                let high = try parseValue(rangeText[rangeText.index(after: dash)...], in: item)
                guard low <= high else {
                    throw failure("range \(rangeText) is reversed; write it from low to high")
                }
                range = low...high
            } else {
                let value = try parseValue(rangeText, in: item)
                // `N/step` means from N to the end of the field. Day-of-week accepts 7 (Sunday)
                // beyond the end of `*` (0-6): `7/step` is Sunday alone, never a reversed range.
                range = parts.count == 2 ? value...max(value, starRange.upperBound) : value...value
            }
            for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
                bits |= 1 << UInt64(value)
            }
        }
        if self == .dayOfWeek, bits & (1 << 7) != 0 {
            bits = (bits & ~(1 << 7)) | 1
        }
        return Values(bits: bits, isStar: text.first == "*")
    }

    private func parseValue(_ text: Substring, in item: Substring) throws(CronError) -> Int {
        guard !text.isEmpty else { throw failure("'\(item)' is missing a value") }
        if text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let value = Int(text), bounds.contains(value) else {
                throw failure("\(text) is out of range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            return value
        }
        if let value = names[text.uppercased()] { return value }
        switch self {
        case .month: throw failure("'\(text)' is not a month (1-12 or JAN-DEC)")
        case .dayOfWeek: throw failure("'\(text)' is not a day of the week (0-7 or SUN-SAT)")
        default: throw failure("'\(text)' is not a number")
        }
    }

    private func parseStep(_ text: Substring) throws(CronError) -> Int {
        let maximum = bounds.upperBound
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw failure("step '\(text)' is not a number")
        }
        guard let step = Int(text), (1...maximum).contains(step) else {
            throw failure("step \(text) is out of range 1-\(maximum)")
        }
        return step
    }

    private func failure(_ message: String) -> CronError {
        CronError(message: "\(name) field: \(message)", field: rawValue)
    }
}
