import Foundation
import TetherEngine

/// Renders engine records as the HTTP API's JSON (docs/api.md).
enum APIRendering {
    static func timestamp(_ milliseconds: Int64) -> JSONValue {
        guard milliseconds > 0 else { return .null }
        return .string(iso8601(milliseconds))
    }

    /// `2026-11-23T11:07:00.123Z`.
    static func iso8601(_ milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(milliseconds % 1_000)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Stored JSON bytes as a value (they were validated when stored; anything else renders as a string).
    static func json(_ bytes: [UInt8]?) -> JSONValue {
        guard let bytes, !bytes.isEmpty else { return .null }
        return (try? JSONValue(parsing: bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
    }

    static func error(_ error: RunError?) -> JSONValue {
        guard let error else { return .null }
        return ["code": .string(error.code), "message": .string(error.message), "type": .string(error.type)]
    }

    static func event(_ event: EventRecord) -> JSONValue {
        [
            "id": .string(event.id), "name": .string(event.name), "data": json(event.data),
            "ts": .int(event.timestampMilliseconds), "v": .string(event.version),
        ]
    }

    static func step(_ step: StepRecord) -> JSONValue {
        // A parallel step that failed and will run again reads as retrying, like any other.
        let status = step.status == .pending && step.attempts > 0 ? StepStatus.retrying : step.status
        var object: [String: JSONValue] = [
            "id": .string(step.id), "kind": .string(step.kind.rawValue), "status": .string(status.rawValue),
            "attempts": .int(Int64(step.attempts)),
            "output": step.status == .completed ? json(step.output) : .null, "error": error(step.error),
            "worker": step.worker.isEmpty ? .null : .string(step.worker),
            "startedAt": timestamp(step.startedAtMilliseconds), "endedAt": timestamp(step.endedAtMilliseconds),
        ]
        switch step.kind {
        case .sleep:
            object["wakeAt"] = timestamp(step.dueAtMilliseconds)
        case .waitForEvent:
            object["waitFor"] = [
                "event": .string(step.waitEvent), "match": step.waitMatch.isEmpty ? .null : .string(step.waitMatch),
                "timeoutAt": timestamp(step.dueAtMilliseconds),
            ]
        case .invoke:
            object["childRun"] = step.childRunId.isEmpty ? .null : .string(step.childRunId)
        case .run, .sendEvent:
            break
        }
        if step.nextAttemptAtMilliseconds > 0, step.status == .pending {
            object["nextAttemptAt"] = timestamp(step.nextAttemptAtMilliseconds)
        }
        return .object(object)
    }

    /// A run in a listing: no steps, no event data.
    static func runSummary(_ run: RunRecord) -> JSONValue {
        [
            "id": .string(run.id), "function": .string(run.functionId), "app": .string(run.app),
            "status": .string(run.status.rawValue), "error": error(run.error),
            "createdAt": timestamp(run.createdAtMilliseconds), "startedAt": timestamp(run.startedAtMilliseconds),
            "endedAt": timestamp(run.endedAtMilliseconds),
        ]
    }

    /// A run with its event, output and steps (`GET /v1/runs/{id}`).
    static func run(_ run: RunRecord) -> JSONValue {
        guard case .object(var object) = runSummary(run) else { return .null }
        object["event"] = run.events.first.map(event) ?? .null
        if run.events.count > 1 { object["events"] = .array(run.events.map(event)) }
        object["output"] = run.status == .completed ? json(run.output) : .null
        object["attempt"] = .int(Int64(run.attempt))
        object["steps"] = .array(run.steps.map(step))
        if !run.parentRunId.isEmpty {
            object["parent"] = ["run": .string(run.parentRunId), "step": .string(run.parentStepId)]
        }
        return .object(object)
    }

    /// A function's configuration (`GET /v1/functions`).
    static func config(_ definition: FunctionDefinition) -> JSONValue {
        var config: [String: JSONValue] = ["retries": .int(Int64(definition.retries))]
        if !definition.cancelOn.isEmpty {
            config["cancelOn"] = .array(
                definition.cancelOn.map { ["event": .string($0.event), "match": $0.match.map(JSONValue.string) ?? .null] })
        }
        if definition.timeoutStartMilliseconds > 0 || definition.timeoutFinishMilliseconds > 0 {
            config["timeouts"] = [
                "startMs": definition.timeoutStartMilliseconds > 0 ? .int(definition.timeoutStartMilliseconds) : .null,
                "finishMs": definition.timeoutFinishMilliseconds > 0 ? .int(definition.timeoutFinishMilliseconds) : .null,
            ]
        }
        if let idempotency = definition.idempotency {
            config["idempotency"] = .string(idempotency)
        }
        flow(definition.flow, into: &config)
        return .object(config)
    }

    /// The flow-control settings of a function's configuration; unset ones are left out, a
    /// missing key is `null`.
    static func flow(_ flow: FlowControl, into config: inout [String: JSONValue]) {
        func key(_ key: String?) -> JSONValue { key.map(JSONValue.string) ?? .null }
        if !flow.concurrency.isEmpty {
            config["concurrency"] = .array(
                flow.concurrency.map { ["limit": .int(Int64($0.limit)), "key": key($0.key)] })
        }
        if let throttle = flow.throttle {
            config["throttle"] = [
                "limit": .int(Int64(throttle.limit)), "periodMs": .int(throttle.periodMilliseconds),
                "burst": .int(Int64(throttle.burst)), "key": key(throttle.key),
            ]
        }
        if let rateLimit = flow.rateLimit {
            config["rateLimit"] = [
                "limit": .int(Int64(rateLimit.limit)), "periodMs": .int(rateLimit.periodMilliseconds),
                "key": key(rateLimit.key),
            ]
        }
        if let debounce = flow.debounce {
            config["debounce"] = [
                "periodMs": .int(debounce.periodMilliseconds), "key": key(debounce.key),
                "timeoutMs": debounce.timeoutMilliseconds > 0 ? .int(debounce.timeoutMilliseconds) : .null,
            ]
        }
        if let batchEvents = flow.batchEvents {
            config["batchEvents"] = [
                "maxSize": .int(Int64(batchEvents.maxSize)), "timeoutMs": .int(batchEvents.timeoutMilliseconds),
                "key": key(batchEvents.key),
            ]
        }
        if let priority = flow.priority {
            config["priority"] = .string(priority)
        }
        if let singleton = flow.singleton {
            config["singleton"] = ["key": key(singleton.key), "mode": .string(singleton.mode.rawValue)]
        }
    }

    /// What happened to one sent event (`POST /v1/events`): the runs it started, and, only when
    /// there are some, the functions whose flow control `skipped` it (no run) or `deferred` it (a
    /// later run: debounce, batch).
    static func receipt(_ receipt: EventReceipt) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(receipt.eventId), "runs": .array(receipt.runIds.map(JSONValue.string)),
        ]
        func outcomes(_ outcomes: [FlowOutcome]) -> JSONValue {
            .array(outcomes.map { ["function": .string($0.functionId), "reason": .string($0.kind.rawValue)] })
        }
        let skipped = receipt.flow.filter(\.isSkipped)
        let deferred = receipt.flow.filter { !$0.isSkipped }
        if !skipped.isEmpty { object["skipped"] = outcomes(skipped) }
        if !deferred.isEmpty { object["deferred"] = outcomes(deferred) }
        return .object(object)
    }

    /// One function's queue in `GET /v1/status`.
    static func functionStatus(_ function: SchedulerStatus.Function) -> JSONValue {
        [
            "id": .string(function.id), "queued": .int(Int64(function.queued)),
            "running": .int(Int64(function.running)),
            "oldestQueuedAgeMs": .int(function.oldestQueuedAgeMilliseconds),
            "keys": .array(
                function.keys.map {
                    ["key": .string($0.key), "queued": .int(Int64($0.queued)), "running": .int(Int64($0.running))]
                }),
            "keyCount": .int(Int64(function.keyCount)), "debouncing": .int(Int64(function.debouncing)),
            "batched": .int(Int64(function.batched)),
        ]
    }

    static func trigger(_ trigger: TriggerDefinition) -> JSONValue {
        switch trigger {
        case .event(let name, let expression):
            ["event": .string(name), "expression": expression.map(JSONValue.string) ?? .null]
        case .cron(let schedule, let timeZone):
            ["cron": .string(schedule), "timezone": .string(timeZone.isEmpty ? "UTC" : timeZone)]
        }
    }

    /// A connected worker as `GET /v1/status` and `GET /v1/workers` show it.
    static func worker(_ worker: SchedulerStatus.Worker) -> JSONValue {
        [
            "instanceId": .string(worker.instanceId), "connectionId": .string(worker.connectionId),
            "app": .string(worker.app), "appVersion": .string(worker.appVersion), "status": .string(worker.status),
            "connectedAt": timestamp(worker.connectedAtMilliseconds),
            "lastHeartbeatAt": timestamp(worker.lastHeartbeatAtMilliseconds),
            "capacity": .int(Int64(worker.capacity)), "inFlight": .int(Int64(worker.inFlight)),
        ]
    }

    /// The handshake limiter's state in `/v1/status`: what a reconnect storm looks like from here.
    static func handshakes(_ limiter: HandshakeLimiter) -> JSONValue {
        let statistics = limiter.statistics
        return [
            "inProgress": .int(Int64(statistics.inProgress)), "limit": .int(Int64(limiter.limit)),
            "queued": .int(Int64(statistics.queued)), "queueLimit": .int(Int64(limiter.maxQueued)),
            "peakInProgress": .int(Int64(statistics.peakInProgress)), "peakQueued": .int(Int64(statistics.peakQueued)),
            "queuedTotal": .int(Int64(statistics.queuedTotal)), "queueTimeouts": .int(Int64(statistics.queueTimeouts)),
            "overloaded": .int(Int64(statistics.overloaded)), "refused": .int(Int64(statistics.refused)),
            "awaitingClientHello": .int(Int64(limiter.preHandshake.count)),
            "awaitingClientHelloLimit": .int(Int64(limiter.preHandshake.limit)),
            "peakAwaitingClientHello": .int(Int64(limiter.preHandshake.peak)),
        ]
    }
}
