extension CoordinatorCore {
    /// The cron triggers of the installed functions, by key (see ``CoordinatorCore/cronKey(functionId:schedule:timeZone:)``):
    /// each one's schedule, the tick it last fired (durable, so missed ticks are found after a
    /// restart) and the tick it is armed for (its timer fires only if it still matches).
    struct CronTable: Sendable {
        private(set) var schedules: [String: CronSchedule] = [:]
        /// The tick each trigger last fired, restored from the store.
        private(set) var fired: [String: Int64] = [:]
        private(set) var armed: [String: Int64] = [:]

        init(fired: [String: Int64] = [:]) { self.fired = fired }

        /// Forgets the triggers of a function (it is being installed again).
        mutating func disarm(functionId: String) {
            let prefix = functionId + "\u{0}"
            for key in schedules.keys where key.hasPrefix(prefix) {
                schedules[key] = nil
                armed[key] = nil
            }
        }

        /// Files a trigger's schedule, armed for tick `due` (nil: it has no tick left).
        mutating func arm(_ key: String, schedule: CronSchedule, due: Int64?) {
            schedules[key] = schedule
            armed[key] = due
        }

        /// Records that trigger `key` fired tick `tick`, arming it for `next`.
        mutating func fire(_ key: String, tick: Int64, next: Int64?) {
            fired[key] = tick
            armed[key] = next
        }

        /// Every way the table disagrees with itself; empty when all hold.
        func invariantViolations() -> [String] {
            armed.keys.filter { schedules[$0] == nil }.map { "cron trigger \($0) is armed without a schedule" }
        }
    }
}
