extension CoordinatorCore {
    /// A durable deadline kept in memory: every timer is derived from a stored record (a run, a
    /// cron trigger, a debounce, a batch), so a restart rebuilds them all. Each is checked
    /// against its record when it fires, so a stale one (the run moved on) is dropped.
    struct Timer: Comparable, Sendable {
        enum Kind: Hashable, Sendable {
            /// The run's next dispatch after a failed attempt (`nextAttemptAtMilliseconds`).
            case retry(runId: String)
            /// A parallel step's next attempt.
            case stepRetry(runId: String, stepId: String)
            /// A `step.sleep` wakes.
            case sleep(runId: String, stepId: String)
            /// A `waitForEvent` times out.
            case waitTimeout(runId: String, stepId: String)
            /// The run's `timeouts.start`.
            case startTimeout(runId: String)
            /// The run's `timeouts.finish`.
            case finishTimeout(runId: String)
            /// A cron trigger's tick (`triggerKey`: see `cronKey`).
            case cron(functionId: String, triggerKey: String)
            /// A debounce's quiet period (or timeout) ends.
            case debounce(key: String)
            /// A batch's timeout.
            case batch(key: String)

            /// Orders timers due at the same time: by kind, then by what they name, so that a
            /// tick fires them in the same order on every run (the simulation relies on it).
            var order: (Int, String, String) {
                switch self {
                case .retry(let runId): (0, runId, "")
                case .stepRetry(let runId, let stepId): (1, runId, stepId)
                case .sleep(let runId, let stepId): (2, runId, stepId)
                case .waitTimeout(let runId, let stepId): (3, runId, stepId)
                case .startTimeout(let runId): (4, runId, "")
                case .finishTimeout(let runId): (5, runId, "")
                case .cron(let functionId, let triggerKey): (6, functionId, triggerKey)
                case .debounce(let key): (7, key, "")
                case .batch(let key): (8, key, "")
                }
            }
        }

        var dueMilliseconds: Int64
        var kind: Kind

        init(_ kind: Kind, at dueMilliseconds: Int64) {
            self.kind = kind
            self.dueMilliseconds = dueMilliseconds
        }

        static func < (lhs: Self, rhs: Self) -> Bool {
            let (l, r) = (lhs.kind.order, rhs.kind.order)
            return (lhs.dueMilliseconds, l.0, l.1, l.2) < (rhs.dueMilliseconds, r.0, r.1, r.2)
        }
    }
}
