extension JSONValue {
    /// Whether the expression language treats the value as true.
    ///
    /// `null`, `false`, `0`, `0.0`, `NaN` and `""` are false (a missing path evaluates to `null`);
    /// every other value, including empty arrays and objects, is true.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .double(let value): return value != 0 && !value.isNaN
        case .string(let value): return !value.isEmpty
        case .array, .object: return true
        }
    }
}
