import TetherEngine

/// `paths` of ``OpenAPIDocument``: one entry per route `APIRoutes` and `MetricsRoute` register,
/// with every status its handler (or `APIErrorMiddleware`) can answer.
extension OpenAPIDocument {
    static func paths(_ access: Access) -> [String: JSONValue] {
        var paths = operationsPaths(access)
        paths.merge(v1Paths(access.v1)) { $1 }
        return paths
    }

    /// The routes outside `/v1`: health, metrics, the dashboard and this document.
    static func operationsPaths(_ access: Access) -> [String: JSONValue] {
        [
            "/healthz": [
                "get": operation(
                    "getHealth", tag: "operations", summary: "Liveness: ok while the process serves HTTP.",
                    secured: false, responses: [200: json("Alive.", ref("Health"))])
            ],
            "/readyz": [
                "get": operation(
                    "getReadiness", tag: "operations",
                    summary: "Readiness: ready unless the store failed or a drain runs.",
                    secured: false,
                    responses: [
                        200: json("Ready.", ref("Readiness")),
                        503: error(
                            "`storage_unavailable` after a store write failure; `draining` while shutting down.",
                            [.storageUnavailable, .draining]),
                        500: internalError,
                    ])
            ],
            "/": [
                "get": operation(
                    "getDashboard", tag: "operations", summary: "The dashboard: one HTML page.", secured: false,
                    responses: [200: text("The dashboard.", mediaType: "text/html")])
            ],
            "/metrics": [
                "get": operation(
                    "getMetrics", tag: "operations",
                    summary:
                        "Prometheus metrics (text format 0.0.4). Needs an API key under `serve` unless `metricsPublic`.",
                    secured: access.metrics,
                    responses: [
                        200: text("The metrics.", mediaType: "text/plain; version=0.0.4"),
                        500: internalError,
                    ])
            ],
            "/openapi.json": [
                "get": operation(
                    "getOpenAPIDocument", tag: "operations", summary: "This document.", secured: false,
                    responses: [
                        200: json(
                            "The OpenAPI 3.1 description of this coordinator's HTTP API.",
                            ["type": "object", "required": ["openapi", "info", "paths", "components"]])
                    ])
            ],
        ]
    }

    static func v1Paths(_ secured: Bool) -> [String: JSONValue] {
        var paths = runPaths(secured)
        paths["/v1/events"] = [
            "post": operation(
                "sendEvents", tag: "events",
                summary: "Accept one event or an array; each starts a run of every function whose trigger matches.",
                secured: secured,
                requestBody: ["required": true, "content": ["application/json": ["schema": ref("EventsRequest")]]],
                responses: [
                    200: json(
                        "One receipt per event, in request order; sent once they are durable.", ref("EventsResponse")),
                    400: error("The body is not JSON, or an event breaks a rule.", [.invalidJSON, .invalidInput]),
                    413: error(
                        "A body over 8 MiB, more than 1000 events, or an event's data over 512 KiB.", [.payloadTooLarge]
                    ),
                    503: storeFailure,
                    500: internalError,
                ])
        ]
        paths["/v1/functions"] = [
            "get": operation(
                "listFunctions", tag: "functions",
                summary: "Every known function and the connected workers serving it.",
                secured: secured,
                responses: [200: json("The functions.", ref("FunctionList")), 500: internalError])
        ]
        paths["/v1/status"] = [
            "get": operation(
                "getStatus", tag: "status", summary: "Coordinator, capacity, workers and queues.", secured: secured,
                responses: [200: json("The status.", ref("Status")), 500: internalError])
        ]
        // OpenAPI 3.1 has no schema for the events of a stream: `x-data-schema` gives each `data:` line's.
        let stream: JSONValue = [
            "description": """
            Server-Sent Events: each `data:` line is a `Status` document, sent at once and then when it \
            changes (at most 4 per second); `: keep-alive` after 15 s without a change.
            """,
            "content": ["text/event-stream": ["schema": string, "x-data-schema": ref("Status")]],
        ]
        paths["/v1/status/stream"] = [
            "get": operation(
                "streamStatus", tag: "status", summary: "The status document as Server-Sent Events.", secured: secured,
                responses: [200: stream])
        ]
        paths["/v1/workers"] = [
            "get": operation(
                "listWorkers", tag: "status",
                summary: "Connected workers with their functions and recent capacity and in-flight samples.",
                secured: secured,
                responses: [200: json("The workers.", ref("WorkerList")), 500: internalError])
        ]
        paths["/v1/admin/drain"] = [
            "post": operation(
                "drain", tag: "admin",
                summary: "Tell every worker to reconnect, stop accepting, and stop (as SIGTERM).", secured: secured,
                requestBody: ["required": false, "content": ["application/json": ["schema": ref("DrainRequest")]]],
                responses: [
                    202: json("The drain starts right after this answer.", ref("DrainResponse")),
                    400: error(
                        "The body is not a JSON object, or `reconnectWithinMs` is out of range.",
                        [.invalidJSON, .invalidInput]),
                    409: error("A drain is already under way.", [.draining]),
                    413: error("A body over 4 KiB.", [.payloadTooLarge]),
                    500: internalError,
                ])
        ]
        return paths
    }

    static func runPaths(_ secured: Bool) -> [String: JSONValue] {
        [
            "/v1/runs": [
                "get": operation(
                    "listRuns", tag: "runs", summary: "Runs, newest first, one page at a time.", secured: secured,
                    parameters: [
                        queryParameter(
                            "function", string, "A function id, `app:slug`; an unknown one gives an empty list."),
                        queryParameter("status", ref("RunStatus"), "Only runs with this (live) status."),
                        queryParameter(
                            "limit", ["type": "integer", "minimum": 1, "maximum": 1_000, "default": 50],
                            "The page size."),
                        queryParameter("cursor", string, "The `next` value of the previous page."),
                    ],
                    responses: [
                        200: json(
                            "A page, possibly short or empty with a non-null `next`: stop when `next` is null.",
                            ref("RunList")),
                        400: error("A bad `status` or `limit`.", [.invalidInput]),
                        503: storeFailure,
                        500: internalError,
                    ])
            ],
            "/v1/runs/{id}": [
                "parameters": [runIdParameter],
                "get": operation(
                    "getRun", tag: "runs", summary: "One run with its event, output and steps.", secured: secured,
                    responses: [
                        200: json("The run.", ref("Run")),
                        404: error("No run with this id.", [.notFound]),
                        503: storeFailure,
                        500: internalError,
                    ]),
            ],
            "/v1/runs/{id}/cancel": [
                "parameters": [runIdParameter],
                "post": operation(
                    "cancelRun", tag: "runs", summary: "Cancel an active run, durably, before the answer. No body.",
                    secured: secured,
                    responses: [
                        200: json("The cancelled run.", ref("Run")),
                        404: error("No run with this id.", [.notFound]),
                        409: error("The run already ended.", [.conflict]),
                        503: storeFailure,
                        500: internalError,
                    ]),
            ],
        ]
    }
}
