import TetherEngine

/// The OpenAPI 3.1 description of the HTTP API as this coordinator serves it (`GET /openapi.json`).
///
/// It follows the configuration: with API keys, the `/v1` operations (and `/metrics`, unless
/// `metricsPublic`) carry the bearer security requirement and a `401` answer; without keys
/// (`tether dev`) they carry neither. Schemas are closed (`additionalProperties: false`) so a
/// field added to a response without its schema is caught: `OpenAPILiveTests` compares the
/// paths and methods here with the routes the router registered, and checks every response it
/// provokes against the schema declared for its path, method and status.
enum OpenAPIDocument {
    static let version = "3.1.0"

    /// The document for a coordinator with this configuration.
    static func make(_ configuration: CoordinatorConfiguration) -> JSONValue {
        let access = Access(
            v1: !configuration.apiKeys.isEmpty,
            metrics: !configuration.apiKeys.isEmpty && !configuration.metricsPublic)
        return [
            "openapi": .string(version),
            "info": [
                "title": "Tether coordinator HTTP API",
                "version": .string(configuration.version),
                "description": .string(description),
            ],
            "tags": .array(
                [
                    ("events", "Sending events."), ("runs", "Runs and their steps."),
                    ("functions", "Registered functions."), ("status", "Capacity, workers and queues."),
                    ("admin", "Operating the coordinator."), ("operations", "Health, metrics and this document."),
                ].map { ["name": .string($0.0), "description": .string($0.1)] }),
            "paths": .object(paths(access)),
            "components": [
                "schemas": .object(schemas),
                "securitySchemes": [
                    "bearerAuth": [
                        "type": "http", "scheme": "bearer",
                        "description":
                            "One of the coordinator's API keys (`tether serve`: config file or TETHER_API_KEYS).",
                    ]
                ],
            ],
        ]
    }

    static let description = """
        Tether's coordinator API (docs/api.md). Responses are compact JSON with sorted keys, except \
        `/metrics` (Prometheus text), `/` (HTML) and `/v1/status/stream` (Server-Sent Events). Every \
        error is `{"error":{"code":"…","message":"…"}}`; match on `code`, not on `message`. Any \
        other path or method answers `404` with code `not_found`. Operations that need an API key \
        list the `bearerAuth` security requirement; without configured API keys (`tether dev`) none do.
        """

    /// Which routes need an API key under a configuration.
    struct Access {
        /// Everything under `/v1`.
        var v1: Bool
        /// `GET /metrics`.
        var metrics: Bool
    }

    /// The operations a document describes, as (method, path template) pairs.
    static func operations(in document: JSONValue) -> Set<RegisteredRoute> {
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var operations: Set<RegisteredRoute> = []
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys where methods.contains(method) {
                operations.insert(RegisteredRoute(method: method.uppercased(), path: path))
            }
        }
        return operations
    }
}

/// One route the HTTP server registered: its method and its path as an OpenAPI template
/// (`/v1/runs/{id}`, which is also how Hummingbird describes a `:id` capture).
struct RegisteredRoute: Hashable, Sendable, CustomStringConvertible, Comparable {
    var method: String
    var path: String

    var description: String { "\(method) \(path)" }

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.path, lhs.method) < (rhs.path, rhs.method)
    }
}
