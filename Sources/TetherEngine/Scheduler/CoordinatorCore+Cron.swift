import Foundation

extension CoordinatorCore {
    /// The event a cron trigger starts its run with.
    public static let cronEvent = "tether/cron"

    /// The key of one cron trigger of a function: `functionId` NUL `schedule` NUL `timeZone`.
    static func cronKey(functionId: String, schedule: String, timeZone: String) -> String {
        "\(functionId)\u{0}\(schedule)\u{0}\(timeZone)"
    }

    /// Arms the cron triggers of a function just installed (or changed).
    ///
    /// A trigger that fired before resumes after its last tick: if ticks were missed while the
    /// coordinator was down, the latest of them fires once, at once. A new trigger starts from
    /// `now`.
    mutating func armCron(_ definition: FunctionDefinition, now: Int64) {
        cron.disarm(functionId: definition.id)
        for trigger in definition.triggers {
            guard case .cron(let expression, let timeZone) = trigger,
                let schedule = try? CronSchedule(parsing: expression, timeZone: timeZone.isEmpty ? nil : timeZone)
            else { continue }
            let key = Self.cronKey(functionId: definition.id, schedule: expression, timeZone: timeZone)
            var due: Int64?
            if let last = cron.fired[key] {
                // The latest tick not after now that has not fired yet, if any.
                var tick = Self.cronTick(schedule, after: last)
                var missed: Int64?
                var steps = 0
                while let current = tick, current <= now, steps < 100_000 {
                    missed = current
                    tick = Self.cronTick(schedule, after: current)
                    steps += 1
                }
                due = missed ?? tick
            } else {
                due = Self.cronTick(schedule, after: now)
            }
            cron.arm(key, schedule: schedule, due: due)
            guard let due else { continue }
            timers.insert(Timer(.cron(functionId: definition.id, triggerKey: key), at: due))
        }
    }

    static func cronTick(_ schedule: CronSchedule, after milliseconds: Int64) -> Int64? {
        schedule.next(after: Date(timeIntervalSince1970: Double(milliseconds) / 1_000)).map {
            Int64(($0.timeIntervalSince1970 * 1_000).rounded())
        }
    }

    /// A cron tick came due: start one run, record the tick in the same write, arm the next.
    mutating func fireCron(functionId: String, key: String, due: Int64, now: Int64, into effects: inout Effects) {
        guard cron.armed[key] == due, let schedule = cron.schedules[key],
            let definition = functions[functionId]?.definition
        else { return }
        let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false)
        let data: JSONValue = [
            "cron": .string(parts.count > 1 ? String(parts[1]) : schedule.expression),
            "timezone": .string(schedule.timeZone.identifier), "scheduledAt": .int(due),
        ]
        let event = EventRecord(
            id: ids.next(nowMilliseconds: now), name: Self.cronEvent, data: data.serialized(),
            timestampMilliseconds: due)
        let run = startRun(of: definition, events: [event], now: now, into: &effects)
        effects.writes.append(.putEvent(event, runIds: [run.id], receivedAtMilliseconds: now))
        effects.writes.append(.putCronTick(key: key, firedAtMilliseconds: due))
        let next = Self.cronTick(schedule, after: max(due, now))
        cron.fire(key, tick: due, next: next)
        if let next {
            timers.insert(Timer(.cron(functionId: functionId, triggerKey: key), at: next))
        }
    }
}
