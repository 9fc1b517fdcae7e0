import TetherEngine
import TetherProtocol

/// What starts a run of a function: an event, or a cron schedule.
///
/// ```swift
/// TetherFunction("process-order", trigger: .event("order/created", if: "event.data.amount > 0")) { ... }
/// TetherFunction("nightly-report", trigger: .cron("0 3 * * *", timeZone: "Europe/Paris")) { ... }
/// ```
public struct Trigger: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case event(name: String, expression: String?)
        case cron(schedule: String, timeZone: String?)
    }

    let kind: Kind

    /// Runs the function for every event named `name` (a trailing `/*` matches a prefix).
    ///
    /// - Parameters:
    ///   - name: The event name, for example `"order/created"` or `"order/*"`.
    ///   - expression: An optional match expression over `event`, such as `"event.data.amount > 100"`;
    ///     only matching events start a run. The coordinator rejects an invalid expression at registration.
    public static func event(_ name: String, if expression: String? = nil) -> Trigger {
        Trigger(kind: .event(name: name, expression: expression))
    }

    /// Runs the function on a schedule given in standard 5-field cron syntax.
    ///
    /// - Parameters:
    ///   - schedule: For example `"*/5 * * * *"` (every five minutes).
    ///   - timeZone: An IANA time zone such as `"America/New_York"`; `nil` means UTC.
    public static func cron(_ schedule: String, timeZone: String? = nil) -> Trigger {
        Trigger(kind: .cron(schedule: schedule, timeZone: timeZone))
    }

    /// A readable form, such as `event "order/created" if amount > 0` or `cron "0 3 * * *"`.
    public var description: String {
        switch kind {
        case .event(let name, let expression):
            return expression.map { "event \"\(name)\" if \($0)" } ?? "event \"\(name)\""
        case .cron(let schedule, let timeZone):
            return timeZone.map { "cron \"\(schedule)\" (\($0))" } ?? "cron \"\(schedule)\""
        }
    }

    /// The engine's form, to check it with the coordinator's rules.
    var definition: TriggerDefinition {
        switch kind {
        case .event(let name, let expression): .event(name: name, expression: expression)
        case .cron(let schedule, let timeZone): .cron(schedule: schedule, timeZone: timeZone ?? "")
        }
    }

    /// The wire form sent in the worker's Hello.
    var proto: Tether_V1_Trigger {
        var trigger = Tether_V1_Trigger()
        switch kind {
        case .event(let name, let expression):
            var event = Tether_V1_EventTrigger()
            event.event = name
            event.expression = expression ?? ""
            trigger.event = event
        case .cron(let schedule, let timeZone):
            var cron = Tether_V1_CronTrigger()
            cron.schedule = schedule
            cron.timezone = timeZone ?? ""
            trigger.cron = cron
        }
        return trigger
    }
}
