/// The rules between `tether serve`'s keys that each key's own range cannot say: checked on the
/// configuration the file and flags make, defaults included, so a value that only clashes with
/// another key's default is refused too, naming both keys.
enum ServeRelations {
    /// `smaller × factor ≤ larger`, between two keys (every value is bounded by its key's range,
    /// so the product cannot overflow).
    struct Rule {
        let smaller: String
        let larger: String
        /// How many times `smaller` must fit in `larger`.
        let factor: Int
        let why: String
        let values: (CoordinatorConfiguration) -> (smaller: Int64, larger: Int64)
    }

    static var rules: [Rule] {
        [
            Rule(
                smaller: "timing.heartbeatIntervalMilliseconds", larger: "timing.stepLeaseMilliseconds", factor: 3,
                why: "a step's lease must outlast a few heartbeats, which extend it",
                values: { (Int64($0.timing.heartbeatIntervalMilliseconds), Int64($0.timing.leaseDurationMilliseconds)) }),
            Rule(
                smaller: "limits.maxEventBytes", larger: "limits.maxRequestBodyBytes", factor: 1,
                why: "an event must fit in a request",
                values: { (Int64($0.limits.maxEventBytes), Int64($0.limits.maxRequestBodyBytes)) }),
            Rule(
                smaller: "limits.maxStepOutputBytes", larger: "limits.maxFrameBytes", factor: 1,
                why: "a step result must fit in a worker's frame",
                values: { (Int64($0.limits.maxStepOutputBytes), Int64($0.limits.maxFrameBytes)) }),
            Rule(
                smaller: "limits.maxStepOutputBytes", larger: "limits.maxRunStateBytes", factor: 1,
                why: "a step's output is part of its run's state",
                values: { (Int64($0.limits.maxStepOutputBytes), Int64($0.limits.maxRunStateBytes)) }),
            Rule(
                smaller: "limits.maxBatchBytes", larger: "limits.maxRunStateBytes", factor: 1,
                why: "a batch's events are its run's state",
                values: { (Int64($0.limits.maxBatchBytes), Int64($0.limits.maxRunStateBytes)) }),
            Rule(
                smaller: "retry.baseDelayMilliseconds", larger: "retry.maxDelayMilliseconds", factor: 1,
                why: "the first delay cannot be longer than the longest",
                values: { ($0.retry.baseDelayMilliseconds, $0.retry.maxDelayMilliseconds) }),
        ]
    }

    /// Throws ``ServeConfigurationError`` for the first rule `configuration` breaks.
    static func check(_ configuration: CoordinatorConfiguration, path: String) throws {
        for rule in rules {
            let (smaller, larger) = rule.values(configuration)
            guard smaller * Int64(rule.factor) > larger else { continue }
            let bound = rule.factor == 1 ? "\(rule.larger) (\(larger))" : "\(rule.larger) / \(rule.factor) (\(larger) / \(rule.factor))"
            throw ServeConfigurationError(
                "\(path): \(rule.smaller) (\(smaller)) must be at most \(bound): \(rule.why)")
        }
    }
}
