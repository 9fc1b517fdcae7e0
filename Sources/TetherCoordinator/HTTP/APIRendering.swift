import Foundation
import TetherAPI
import TetherEngine

/// Engine records as the HTTP API's types, generated from `openapi.yaml` (docs/api.md).
enum APIRendering {
    typealias Schemas = Components.Schemas

    /// A time in Unix milliseconds; nil (JSON `null`) for 0, a time that has not happened.
    static func timestamp(_ milliseconds: Int64) -> Schemas.NullableTimestamp {
        milliseconds > 0 ? Nullable(date(milliseconds)) : .null
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1_000)
    }

    static func string(_ text: String?) -> Schemas.NullableString {
        Nullable(text)
    }

    /// Stored JSON bytes as a value (they were validated when stored; anything else renders as a string).
    static func json(_ bytes: [UInt8]?) -> JSONValue {
        guard let bytes, !bytes.isEmpty else { return .null }
        return (try? JSONValue(parsing: bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
    }

    static func error(_ error: TetherEngine.RunError?) -> Schemas.NullableRunError {
        Nullable(error.map { Schemas.RunError(code: $0.code, message: $0.message, _type: $0.type) })
    }

    static func event(_ event: TetherEngine.EventRecord) -> Schemas.EventRecord {
        Schemas.EventRecord(
            data: json(event.data), id: event.id, name: event.name, ts: Int(event.timestampMilliseconds), v: event.version)
    }

    static func step(_ step: StepRecord) -> Schemas.Step {
        // A parallel step that failed and will run again reads as retrying, like any other.
        let status = step.status == .pending && step.attempts > 0 ? StepStatus.retrying : step.status
        var rendered = Schemas.Step(
            attempts: step.attempts, endedAt: timestamp(step.endedAtMilliseconds), error: error(step.error), id: step.id,
            kind: Schemas.StepKind(rawValue: step.kind.rawValue) ?? .run,
            output: step.status == .completed ? json(step.output) : .null,
            startedAt: timestamp(step.startedAtMilliseconds),
            status: Schemas.StepStatus(rawValue: status.rawValue) ?? .pending,
            worker: string(step.worker.isEmpty ? nil : step.worker))
        switch step.kind {
        case .sleep:
            rendered.wakeAt = timestamp(step.dueAtMilliseconds)
        case .waitForEvent:
            rendered.waitFor = .init(
                event: step.waitEvent, match: string(step.waitMatch.isEmpty ? nil : step.waitMatch),
                timeoutAt: timestamp(step.dueAtMilliseconds))
        case .invoke:
            rendered.childRun = string(step.childRunId.isEmpty ? nil : step.childRunId)
        case .run, .sendEvent:
            break
        }
        if step.nextAttemptAtMilliseconds > 0, step.status == .pending {
            rendered.nextAttemptAt = timestamp(step.nextAttemptAtMilliseconds)
        }
        return rendered
    }

    static func status(_ status: RunStatus) -> Schemas.RunStatus {
        Schemas.RunStatus(rawValue: status.rawValue) ?? .queued
    }

    /// A run in a listing: no steps, no event data.
    static func runSummary(_ run: RunRecord) -> Schemas.RunSummary {
        Schemas.RunSummary(
            app: run.app, createdAt: timestamp(run.createdAtMilliseconds), endedAt: timestamp(run.endedAtMilliseconds),
            error: error(run.error), function: run.functionId, id: run.id,
            startedAt: timestamp(run.startedAtMilliseconds), status: status(run.status))
    }

    /// A run with its event, output and steps (`GET /v1/runs/{id}`).
    static func run(_ run: RunRecord) -> Schemas.Run {
        Schemas.Run(
            app: run.app, attempt: run.attempt, createdAt: timestamp(run.createdAtMilliseconds),
            endedAt: timestamp(run.endedAtMilliseconds), error: error(run.error),
            event: Nullable(run.events.first.map(event)),
            events: run.events.count > 1 ? run.events.map(event) : nil, function: run.functionId, id: run.id,
            output: run.status == .completed ? json(run.output) : .null,
            parent: run.parentRunId.isEmpty ? nil : .init(run: run.parentRunId, step: run.parentStepId),
            startedAt: timestamp(run.startedAtMilliseconds), status: status(run.status), steps: run.steps.map(step))
    }

    /// A registered function with the connections that serve it (`GET /v1/functions`).
    static func function(_ definition: FunctionDefinition, workers: [(connectionId: String, instanceId: String)])
        -> Schemas.Function
    {
        Schemas.Function(
            app: definition.app, config: config(definition), id: definition.id, name: definition.name,
            slug: definition.slug, triggers: definition.triggers.map(trigger),
            workers: workers.map { .init(connectionId: $0.connectionId, instanceId: $0.instanceId) })
    }

    /// A function's configuration; unset flow-control settings are left out, a missing key is `null`.
    static func config(_ definition: FunctionDefinition) -> Schemas.FunctionConfig {
        var config = Schemas.FunctionConfig(retries: definition.retries)
        if !definition.cancelOn.isEmpty {
            config.cancelOn = definition.cancelOn.map { .init(event: $0.event, match: string($0.match)) }
        }
        if definition.timeoutStartMilliseconds > 0 || definition.timeoutFinishMilliseconds > 0 {
            config.timeouts = .init(
                finishMs: Nullable(definition.timeoutFinishMilliseconds > 0 ? definition.timeoutFinishMilliseconds : nil),
                startMs: Nullable(definition.timeoutStartMilliseconds > 0 ? definition.timeoutStartMilliseconds : nil))
        }
        config.idempotency = definition.idempotency
        let flow = definition.flow
        if !flow.concurrency.isEmpty {
            config.concurrency = flow.concurrency.map { .init(key: string($0.key), limit: $0.limit) }
        }
        if let throttle = flow.throttle {
            config.throttle = .init(
                burst: throttle.burst, key: string(throttle.key), limit: throttle.limit,
                periodMs: Int(throttle.periodMilliseconds))
        }
        if let rateLimit = flow.rateLimit {
            config.rateLimit = .init(
                key: string(rateLimit.key), limit: rateLimit.limit, periodMs: Int(rateLimit.periodMilliseconds))
        }
        if let debounce = flow.debounce {
            config.debounce = .init(
                key: string(debounce.key), periodMs: Int(debounce.periodMilliseconds),
                timeoutMs: Nullable(debounce.timeoutMilliseconds > 0 ? debounce.timeoutMilliseconds : nil))
        }
        if let batchEvents = flow.batchEvents {
            config.batchEvents = .init(
                key: string(batchEvents.key), maxSize: batchEvents.maxSize,
                timeoutMs: Int(batchEvents.timeoutMilliseconds))
        }
        config.priority = flow.priority
        if let singleton = flow.singleton {
            config.singleton = .init(key: string(singleton.key), mode: .init(rawValue: singleton.mode.rawValue) ?? .skip)
        }
        return config
    }

    static func trigger(_ trigger: TriggerDefinition) -> Schemas.Trigger {
        switch trigger {
        case .event(let name, let expression):
            .EventTrigger(.init(event: name, expression: string(expression)))
        case .cron(let schedule, let timeZone):
            .CronTrigger(.init(cron: schedule, timezone: timeZone.isEmpty ? "UTC" : timeZone))
        }
    }

    /// What happened to one sent event (`POST /v1/events`): the runs it started, and, only when
    /// there are some, the functions whose flow control `skipped` it (no run) or `deferred` it (a
    /// later run: debounce, batch).
    static func receipt(_ receipt: EventReceipt) -> Schemas.EventReceipt {
        let skipped = receipt.flow.filter(\.isSkipped)
        let deferred = receipt.flow.filter { !$0.isSkipped }
        return Schemas.EventReceipt(
            deferred: deferred.isEmpty
                ? nil
                : deferred.map { .init(function: $0.functionId, reason: .init(rawValue: $0.kind.rawValue) ?? .debounced) },
            id: receipt.eventId, runs: receipt.runIds,
            skipped: skipped.isEmpty
                ? nil
                : skipped.map { .init(function: $0.functionId, reason: .init(rawValue: $0.kind.rawValue) ?? .rate_limited) })
    }

    /// One function's queue in `GET /v1/status`.
    static func functionStatus(_ function: SchedulerStatus.Function) -> Schemas.FunctionStatus {
        Schemas.FunctionStatus(
            batched: function.batched, debouncing: function.debouncing, id: function.id, keyCount: function.keyCount,
            keys: function.keys.map { .init(key: $0.key, queued: $0.queued, running: $0.running) },
            oldestQueuedAgeMs: Int(function.oldestQueuedAgeMilliseconds), queued: function.queued,
            running: function.running)
    }

    /// A connected worker as `GET /v1/status` shows it.
    static func worker(_ worker: SchedulerStatus.Worker) -> Schemas.Worker {
        Schemas.Worker(
            app: worker.app, appVersion: worker.appVersion, capacity: worker.capacity,
            connectedAt: date(worker.connectedAtMilliseconds), connectionId: worker.connectionId,
            inFlight: worker.inFlight, instanceId: worker.instanceId,
            lastHeartbeatAt: date(worker.lastHeartbeatAtMilliseconds),
            status: .init(rawValue: worker.status) ?? .ready)
    }

    /// A connected worker with its functions and recent samples (`GET /v1/workers`).
    static func workerDetail(_ worker: SchedulerStatus.Worker, history: [WorkerHistory.Sample]) -> Schemas.WorkerDetail {
        Schemas.WorkerDetail(
            app: worker.app, appVersion: worker.appVersion, capacity: worker.capacity,
            connectedAt: date(worker.connectedAtMilliseconds), connectionId: worker.connectionId,
            functions: worker.functions,
            history: history.map { .init(at: date($0.atMilliseconds), capacity: $0.capacity, inFlight: $0.inFlight) },
            inFlight: worker.inFlight, instanceId: worker.instanceId,
            lastHeartbeatAt: date(worker.lastHeartbeatAtMilliseconds),
            status: .init(rawValue: worker.status) ?? .ready)
    }

    /// The handshake limiter's state in `/v1/status`: what a reconnect storm looks like from here.
    static func handshakes(_ limiter: HandshakeLimiter) -> Schemas.Status.handshakesPayload {
        let statistics = limiter.statistics
        return .init(
            awaitingClientHello: limiter.preHandshake.count, awaitingClientHelloLimit: limiter.preHandshake.limit,
            inProgress: statistics.inProgress, limit: limiter.limit, overloaded: statistics.overloaded,
            peakAwaitingClientHello: limiter.preHandshake.peak, peakInProgress: statistics.peakInProgress,
            peakQueued: statistics.peakQueued, queueLimit: limiter.maxQueued, queueTimeouts: statistics.queueTimeouts,
            queued: statistics.queued, queuedTotal: statistics.queuedTotal, refused: statistics.refused)
    }
}
