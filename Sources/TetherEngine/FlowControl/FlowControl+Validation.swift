extension FlowControl {
    /// Why this configuration cannot be used, naming the setting, or nil when it is valid.
    public func problem(limits: Limits = .default) -> String? {
        func period(_ name: String, _ value: Int64) -> String? {
            (1...limits.maxFlowPeriodMilliseconds).contains(value)
                ? nil : "\(name) must be between 1 and \(limits.maxFlowPeriodMilliseconds) ms, got \(value)"
        }
        func count(_ name: String, _ value: Int, max: Int = Self.maxLimit) -> String? {
            (1...max).contains(value) ? nil : "\(name) must be between 1 and \(max), got \(value)"
        }
        guard concurrency.count <= Self.maxConcurrencyLimits else {
            return "at most \(Self.maxConcurrencyLimits) concurrency limits are allowed, got \(concurrency.count)"
        }
        for (index, entry) in concurrency.enumerated() {
            let name = "concurrency \(index + 1)"
            if let problem = count("\(name) limit", entry.limit) ?? Self.keyProblem(name, entry.key) { return problem }
        }
        if concurrency.count == 2, concurrency[0].key == concurrency[1].key {
            return "the two concurrency limits must have different keys"
        }
        if let throttle {
            if let problem = count("throttle limit", throttle.limit) ?? period("throttle period", throttle.periodMilliseconds)
                ?? Self.keyProblem("throttle", throttle.key)
            {
                return problem
            }
            guard (0...Self.maxLimit).contains(throttle.burst) else {
                return "throttle burst must be between 0 and \(Self.maxLimit), got \(throttle.burst)"
            }
        }
        if let rateLimit,
            let problem = count("rateLimit limit", rateLimit.limit) ?? period("rateLimit period", rateLimit.periodMilliseconds)
                ?? Self.keyProblem("rateLimit", rateLimit.key)
        {
            return problem
        }
        if let debounce {
            if let problem = period("debounce period", debounce.periodMilliseconds) ?? Self.keyProblem("debounce", debounce.key) {
                return problem
            }
            if debounce.timeoutMilliseconds != 0 {
                if let problem = period("debounce timeout", debounce.timeoutMilliseconds) { return problem }
                guard debounce.timeoutMilliseconds >= debounce.periodMilliseconds else {
                    return "debounce timeout (\(debounce.timeoutMilliseconds) ms) must not be shorter than its period (\(debounce.periodMilliseconds) ms)"
                }
            }
        }
        if let batchEvents {
            if let problem = count("batchEvents maxSize", batchEvents.maxSize, max: BatchEvents.maxSizeLimit)
                ?? period("batchEvents timeout", batchEvents.timeoutMilliseconds)
                ?? Self.keyProblem("batchEvents", batchEvents.key)
            {
                return problem
            }
            if debounce != nil { return "debounce and batchEvents cannot be combined" }
        }
        if let priority, let problem = Self.expressionProblem("priority", priority) { return problem }
        if let singleton, let problem = Self.keyProblem("singleton", singleton.key) { return problem }
        return nil
    }

    static func keyProblem(_ name: String, _ key: String?) -> String? {
        key.flatMap { expressionProblem("\(name) key", $0) }
    }

    /// Why `source` is not an expression over `event` alone, or nil.
    static func expressionProblem(_ name: String, _ source: String) -> String? {
        do {
            let expression = try Expression(parsing: source)
            if !expression.paths(root: .async).isEmpty {
                return "invalid \(name) expression \"\(source)\": it is computed from `event` only; `async` is not available"
            }
            return nil
        } catch {
            return "invalid \(name) expression \"\(source)\": \(error)"
        }
    }
}
