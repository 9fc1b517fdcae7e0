import TetherTelemetry
import Tracing

/// The span of a traced request's new step: `tether.step <id>`, a child of the coordinator's
/// dispatch span (the request's `traceparent`). The step's closure runs with the worker's tracer
/// as the task's active one and the step's span as the current context, so a `withSpan` in it
/// makes a child of the step.
struct StepTrace: Sendable {
    let tracer: any Tracer
    let parent: ServiceContext
    let runId: String
    let functionId: String
    let attempt: Int

    func run<T>(stepId: String, _ body: () async throws -> T) async throws -> T {
        let span = tracer.startSpan("tether.step \(stepId)", context: parent, ofKind: .consumer)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["tether.run.id"] = runId
            attributes["tether.function.id"] = functionId
            attributes["tether.step.id"] = stepId
            attributes["tether.attempt"] = attempt
        }
        do {
            return try await withTracer(tracer) {
                try await ServiceContext.withValue(span.context) { try await body() }
            }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: String(describing: error)))
            throw error
        }
    }
}
