import TetherEngine
import TetherStore

/// `components.schemas` of ``OpenAPIDocument``: the bodies `APIRoutes` reads and `APIRendering` writes.
extension OpenAPIDocument {
    static var schemas: [String: JSONValue] {
        var schemas = eventSchemas
        schemas.merge(runSchemas) { $1 }
        schemas.merge(functionSchemas) { $1 }
        schemas.merge(statusSchemas) { $1 }
        schemas.merge(otherSchemas) { $1 }
        return schemas
    }

    /// The error codes the HTTP API answers with (a subset of ``ErrorCode``).
    static let errorCodes: [ErrorCode] = [
        .invalidJSON, .invalidInput, .unauthenticated, .notFound, .conflict, .payloadTooLarge, .storageUnavailable,
        .draining, .internalError,
    ]

    static var otherSchemas: [String: JSONValue] {
        [
            "Error": described(
                object([
                    "error": object([
                        "code": ref("ErrorCode"),
                        "message": described(string, "For humans; may change."),
                    ])
                ]), "The body of every error answer."),
            "ErrorCode": described(
                enumeration(errorCodes.map(\.rawValue)),
                "Stable: match on it. New codes may be added; none is ever renamed."),
            "Health": object(["status": enumeration(["ok"])]),
            "Readiness": object(["status": enumeration(["ready"])]),
            "DrainRequest": [
                "type": "object",
                "properties": [
                    "reconnectWithinMs": [
                        "type": "integer", "minimum": 100, "maximum": 600_000, "default": 5_000,
                        "description": "Each worker reconnects at a random moment within this window.",
                    ]
                ],
            ],
            "DrainResponse": object(["status": enumeration(["draining"]), "reconnectWithinMs": integer]),
        ]
    }

    static var eventSchemas: [String: JSONValue] {
        let skipped = FlowOutcome.Kind.allCases.filter { FlowOutcome(functionId: "", kind: $0).isSkipped }
        let deferred = FlowOutcome.Kind.allCases.filter { !FlowOutcome(functionId: "", kind: $0).isSkipped }
        return [
            "EventInput": [
                "type": "object", "required": ["name"],
                "description": "One event. Other fields are ignored.",
                "properties": [
                    "name": described(
                        ["type": "string", "minLength": 1],
                        "1-256 bytes; no whitespace, control characters or `*`."),
                    "data": [
                        "type": ["object", "null"],
                        "description": "At most 512 KiB as compact JSON (over that: 413). Absent or null means {}.",
                    ],
                    "id": [
                        "type": ["string", "null"], "minLength": 1,
                        "description":
                            "1-256 bytes. Makes sending idempotent; without it the coordinator assigns a ULID.",
                    ],
                    "ts": [
                        "type": ["integer", "null"], "minimum": 0,
                        "maximum": .int(Limits.default.maxEventTimestampMilliseconds),
                        "description":
                            "Unix milliseconds, a whole number (not a fraction); default: when it was accepted.",
                    ],
                    "v": described(nullableString, "The sender's schema version; default empty."),
                ],
            ],
            "EventsRequest": [
                "oneOf": [
                    ref("EventInput"),
                    array(ref("EventInput"), minItems: 1, maxItems: EventParsing.maxEventsPerRequest),
                ],
                "description": "One event or an array of 1-1000; the whole body at most 8 MiB.",
            ],
            "EventsResponse": object(["events": array(ref("EventReceipt"))]),
            "EventReceipt": object(
                [
                    "id": described(string, "The event id (the original one for a duplicate)."),
                    "runs": described(array(string), "Runs it started; the original ones for a duplicate."),
                    "skipped": array(
                        object(["function": string, "reason": enumeration(skipped.map(\.rawValue))]), minItems: 1),
                    "deferred": array(
                        object(["function": string, "reason": enumeration(deferred.map(\.rawValue))]), minItems: 1),
                ], optional: ["skipped", "deferred"]),
        ]
    }

    static var runSchemas: [String: JSONValue] {
        let summary: [String: JSONValue] = [
            "id": string, "function": described(string, "The function id, `app:slug`."), "app": string,
            "status": ref("RunStatus"), "error": nullable(ref: "RunError"), "createdAt": nullableTimestamp,
            "startedAt": nullableTimestamp, "endedAt": nullableTimestamp,
        ]
        var run = summary
        run["event"] = nullable(ref: "EventRecord")
        run["events"] = described(array(ref("EventRecord")), "A batched run's events (present when more than one).")
        run["output"] = described(anyValue, "The function's output when `completed`, else null.")
        run["attempt"] = integer
        run["steps"] = array(ref("Step"))
        run["parent"] = described(object(["run": string, "step": string]), "For a run started by `step.invoke`.")
        return [
            "RunStatus": enumeration(RunStatus.allCases.map(\.rawValue)),
            "StepStatus": enumeration(StepStatus.allCases.map(\.rawValue)),
            "StepKind": enumeration(StepKind.allCases.map(\.rawValue)),
            "RunError": object(["code": string, "message": string, "type": string]),
            "EventRecord": object(["id": string, "name": string, "data": anyValue, "ts": integer, "v": string]),
            "RunSummary": object(summary),
            "Run": object(run, optional: ["events", "parent"]),
            "RunList": object([
                "runs": array(ref("RunSummary")),
                "next": described(nullableString, "Pass as `cursor` for the next page; null at the end."),
            ]),
            "Step": object(
                [
                    "id": string, "kind": ref("StepKind"), "status": ref("StepStatus"), "attempts": integer,
                    "output": described(anyValue, "The step's output when `completed`, else null."),
                    "error": nullable(ref: "RunError"), "worker": nullableString, "startedAt": nullableTimestamp,
                    "endedAt": nullableTimestamp,
                    "wakeAt": described(nullableTimestamp, "For a `sleep`."),
                    "waitFor": described(
                        object(["event": string, "match": nullableString, "timeoutAt": nullableTimestamp]),
                        "For a `waitForEvent`."),
                    "childRun": described(nullableString, "For an `invoke`: the run it started."),
                    "nextAttemptAt": described(nullableTimestamp, "For a parallel step that will run again."),
                ], optional: ["wakeAt", "waitFor", "childRun", "nextAttemptAt"]),
        ]
    }

    static var functionSchemas: [String: JSONValue] {
        let key = described(nullableString, "The key expression, or null for the whole function.")
        let config = object(
            [
                "retries": integer,
                "cancelOn": array(object(["event": string, "match": nullableString])),
                "timeouts": object(["startMs": nullableInteger, "finishMs": nullableInteger]),
                "idempotency": string,
                "concurrency": array(object(["limit": integer, "key": key]), minItems: 1, maxItems: 2),
                "throttle": object(["limit": integer, "periodMs": integer, "burst": integer, "key": key]),
                "rateLimit": object(["limit": integer, "periodMs": integer, "key": key]),
                "debounce": object(["periodMs": integer, "key": key, "timeoutMs": nullableInteger]),
                "batchEvents": object(["maxSize": integer, "timeoutMs": integer, "key": key]),
                "priority": string,
                "singleton": object(["key": key, "mode": enumeration(Singleton.Mode.allCases.map(\.rawValue))]),
            ],
            optional: [
                "cancelOn", "timeouts", "idempotency", "concurrency", "throttle", "rateLimit", "debounce",
                "batchEvents",
                "priority", "singleton",
            ])
        return [
            "FunctionList": object(["functions": array(ref("Function"))]),
            "Function": object([
                "id": string, "app": string, "slug": string, "name": string, "triggers": array(ref("Trigger")),
                "config": ref("FunctionConfig"),
                "workers": described(
                    array(object(["connectionId": string, "instanceId": string])),
                    "Connected workers that registered it."),
            ]),
            "Trigger": [
                "oneOf": [
                    object(["event": string, "expression": nullableString]),
                    object(["cron": string, "timezone": string]),
                ]
            ],
            "FunctionConfig": described(config, "`retries`, and the settings the function sets."),
        ]
    }

    static var statusSchemas: [String: JSONValue] {
        let worker: [String: JSONValue] = [
            "instanceId": string, "connectionId": string, "app": string, "appVersion": string,
            "status": enumeration(["ready", "paused"]), "connectedAt": timestamp, "lastHeartbeatAt": timestamp,
            "capacity": integer, "inFlight": integer,
        ]
        var detail = worker
        detail["functions"] = array(string)
        detail["history"] = described(
            array(object(["at": timestamp, "capacity": integer, "inFlight": integer])), "Samples, oldest first.")
        return [
            "Status": object([
                "coordinator": object([
                    "version": string, "startedAt": timestamp,
                    "durability": enumeration(Durability.allCases.map(\.rawValue)), "healthy": boolean,
                    "activeRuns": integer,
                ]),
                "capacity": object(["total": integer, "inFlight": integer, "available": integer]),
                "workers": array(ref("Worker")),
                "functions": array(ref("FunctionStatus")),
                "queue": object(["depth": integer, "oldestAgeMs": integer]),
                "handshakes": described(
                    object([
                        "inProgress": integer, "limit": integer, "queued": integer, "queueLimit": integer,
                        "peakInProgress": integer, "peakQueued": integer, "queuedTotal": integer,
                        "queueTimeouts": integer, "overloaded": integer, "refused": integer,
                        "awaitingClientHello": integer, "awaitingClientHelloLimit": integer,
                        "peakAwaitingClientHello": integer,
                    ]), "The worker handshake limiter since this process started (docs/protocol.md)."),
            ]),
            "Worker": object(worker),
            "WorkerDetail": object(detail),
            "WorkerList": object(["workers": array(ref("WorkerDetail")), "sampleIntervalMs": integer]),
            "FunctionStatus": object([
                "id": string, "queued": integer, "running": integer, "oldestQueuedAgeMs": integer,
                "keys": array(
                    object([
                        "key": described(string, "The key's value as JSON text."), "queued": integer,
                        "running": integer,
                    ])),
                "keyCount": integer, "debouncing": integer, "batched": integer,
            ]),
        ]
    }
}
