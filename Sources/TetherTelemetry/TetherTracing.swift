import Foundation
public import Instrumentation
public import Logging
import OTel
import ServiceContextModule
public import ServiceLifecycle
public import Tracing

/// OpenTelemetry tracing for the coordinator and the SDK: a tracer whose spans go over OTLP/HTTP
/// to a collector, and the service that batches and exports them (run it for as long as spans
/// are made, and shut it down gracefully so the last batch leaves).
///
/// Off unless configured (``TracingSettings/resolve(endpoint:serviceName:environment:)``). The
/// standard variables
/// (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_TRACES_SAMPLER`, …) apply on top. Protocols: `http/protobuf`
/// (the default) and `http/json`.
public struct TetherTracing: Sendable {
    /// Starts spans; also injects and extracts W3C trace context.
    public let tracer: any Tracer
    /// Batches finished spans and exports them.
    public let exporter: any Service
    /// The `service.name` of every span.
    public let serviceName: String

    /// Starts the tracer and its exporter for `settings` (see ``TracingSettings/resolve(endpoint:serviceName:environment:)``).
    public static func make(_ settings: TracingSettings, logger: Logger) throws -> TetherTracing {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.diagnosticLogger = .custom(logger)
        // Its own problems (an export that failed, spans dropped), not its configuration at startup.
        configuration.diagnosticLogLevel = .warning
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        // A coordinator ends a few spans per step, thousands per second: a queue of 2,048 (the
        // specification's default) fills between two exports and drops spans. These hold about
        // three seconds at 10,000 spans/s (each span tens to hundreds of bytes while queued);
        // OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE and OTEL_BSP_SCHEDULE_DELAY override them.
        configuration.traces.batchSpanProcessor.maxQueueSize = 32_768
        configuration.traces.batchSpanProcessor.maxExportBatchSize = 4_096
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        if let endpoint = settings.endpoint {
            // A base URL, like OTEL_EXPORTER_OTLP_ENDPOINT: spans go to its /v1/traces.
            configuration.traces.otlpExporter.endpoint =
                endpoint.hasSuffix("/") ? "\(endpoint)v1/traces" : "\(endpoint)/v1/traces"
        }
        // The standard variables apply over this (swift-otel reads the process's environment).
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        return TetherTracing(tracer: tracer, exporter: service, serviceName: settings.serviceName)
    }

    public init(tracer: any Tracer, exporter: any Service, serviceName: String) {
        self.tracer = tracer
        self.exporter = exporter
        self.serviceName = serviceName
    }

    /// Runs `body` with the exporter running beside it, then shuts the exporter down gracefully
    /// (so the spans of `body`'s last moments are exported too) and returns or rethrows what
    /// `body` did. The exporter's own failure is logged, never thrown.
    public func exporting<T: Sendable>(logger: Logger, _ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: exporter)], gracefulShutdownSignals: [], logger: logger))
        let result = await withTaskGroup(of: Void.self) { tasks -> Result<T, any Error> in
            tasks.addTask {
                do {
                    try await group.run()
                } catch {
                    logger.error("span exporter stopped", metadata: ["error": "\(error)"])
                }
            }
            let result: Result<T, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            await tasks.waitForAll()
            return result
        }
        return try result.get()
    }

    /// The W3C `traceparent` of the span in `context`, or empty when it holds none.
    public func traceParent(of context: ServiceContext) -> String {
        TraceParent.inject(context, with: tracer)
    }

    /// A context whose span is the remote parent named by `traceParent` (empty or malformed:
    /// a top-level context, so a new trace starts).
    public func context(traceParent: String) -> ServiceContext {
        TraceParent.extract(traceParent, with: tracer)
    }
}

/// W3C `traceparent` as text, through any instrument.
public enum TraceParent {
    /// The header's name.
    public static let header = "traceparent"

    public static func inject(_ context: ServiceContext, with instrument: any Instrument) -> String {
        var carrier: [String: String] = [:]
        instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier[header] ?? ""
    }

    public static func extract(_ traceParent: String, with instrument: any Instrument) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard !traceParent.isEmpty else { return context }
        instrument.extract([header: traceParent], into: &context, using: DictionaryExtractor())
        return context
    }

    private struct DictionaryInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            carrier[key] = value
        }
    }

    private struct DictionaryExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? {
            carrier[key]
        }
    }
}

/// Whether and where to trace, as configured; checked before anything starts.
public struct TracingSettings: Sendable, Equatable {
    /// The collector's OTLP/HTTP base URL from a configuration file (`otel.endpoint`), if any.
    public var endpoint: String?
    /// `service.name`: `OTEL_SERVICE_NAME`, else the file's, else the program's default.
    public var serviceName: String

    /// Variables that turn tracing on.
    public static let endpointVariables = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]

    public init(endpoint: String? = nil, serviceName: String) {
        self.endpoint = endpoint
        self.serviceName = serviceName
    }

    /// Tracing as configured, or nil when it is off: on when `endpoint` is given or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; off again with
    /// `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`.
    ///
    /// - Throws: ``TracingConfigurationError`` for an exporter other than `otlp`, a protocol other
    ///   than `http/protobuf` or `http/json`, or an endpoint without an `http` or `https` scheme.
    public static func resolve(
        endpoint: String? = nil, serviceName: String, environment: [String: String]
    ) throws -> TracingSettings? {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        }
        let fromEnvironment = endpointVariables.contains { value($0) != nil }
        guard endpoint != nil || fromEnvironment else { return nil }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return nil }
        if let exporter = value("OTEL_TRACES_EXPORTER")?.lowercased() {
            if exporter == "none" { return nil }
            guard exporter == "otlp" else {
                throw TracingConfigurationError(
                    "OTEL_TRACES_EXPORTER=\(exporter) is not supported: use otlp (or none to turn tracing off)")
            }
        }
        for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let wireProtocol = value(name), wireProtocol != "http/protobuf" && wireProtocol != "http/json" {
                throw TracingConfigurationError(
                    "\(name)=\(wireProtocol) is not supported: use http/protobuf (the default) or http/json")
            }
        }
        for name in endpointVariables {
            if let url = value(name) { try checkScheme(url, name: name) }
        }
        if let endpoint { try checkScheme(endpoint, name: "otel.endpoint") }
        return TracingSettings(endpoint: endpoint, serviceName: value("OTEL_SERVICE_NAME") ?? serviceName)
    }

    private static func checkScheme(_ url: String, name: String) throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw TracingConfigurationError("\(name) \"\(url)\" must start with http:// or https://")
        }
    }
}

/// Tracing is configured in a way this build cannot honour.
public struct TracingConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension DefaultTracerClock.Instant {
    /// The instant `milliseconds` after the Unix epoch.
    public init(unixMilliseconds milliseconds: Int64) {
        self.init(nanosecondsSinceEpoch: UInt64(max(0, milliseconds)) * 1_000_000)
    }
}
