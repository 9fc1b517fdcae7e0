import Hummingbird
import Testing
import TetherAPI
import TetherStore
import TetherTestSupport

@testable import TetherCoordinator
@testable import TetherEngine

@Suite("GET /openapi.json: the document itself (openapi.yaml as JSON)")
struct OpenAPIDocumentTests {
    static let document = try! JSONValue(parsing: OpenAPIDocument.json)
    static let validator = JSONSchemaValidator(root: document)
    static let contract = OpenAPIContract(document: document)

    /// A response object, or the one `#/components/responses/<name>` it refers to.
    static func resolve(_ response: JSONValue) -> JSONValue {
        contract.resolve(response)
    }

    /// A generated API value as the JSON a client reads.
    static func json(_ value: some Encodable) -> JSONValue {
        try! JSONValue(parsing: Array(APIEncoding.encoder().encode(value)))
    }

    /// `#/components/schemas/<name>`.
    static func schema(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    /// Every schema in the document: components, parameters, request bodies and responses.
    static func allSchemas(_ document: JSONValue) -> [(String, JSONValue)] {
        var schemas: [(String, JSONValue)] = (document["components"]?["schemas"]?.objectValue ?? [:]).map {
            ("#/components/schemas/\($0.key)", $0.value)
        }
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:] {
                for parameter in (operation.arrayValue ?? []) + (operation["parameters"]?.arrayValue ?? []) {
                    schemas.append(("\(path) \(method) parameter", parameter["schema"] ?? .null))
                }
                for (type, media) in operation["requestBody"]?["content"]?.objectValue ?? [:] {
                    schemas.append(("\(path) \(method) body \(type)", media["schema"] ?? .null))
                }
                for (status, response) in operation["responses"]?.objectValue ?? [:] {
                    for (type, media) in resolve(response)["content"]?.objectValue ?? [:] {
                        schemas.append(("\(path) \(method) \(status) \(type)", media["schema"] ?? .null))
                        if let data = media["schema"]?["properties"]?["data"]?["contentSchema"] {
                            schemas.append(("\(path) \(method) \(status) data", data))
                        }
                    }
                }
            }
        }
        return schemas
    }

    @Test("every schema resolves its $refs and uses only keywords the test validator checks")
    func schemasAreCheckable() {
        let schemas = Self.allSchemas(Self.document)
        #expect(schemas.count > 40)
        for (location, schema) in schemas {
            #expect(Self.validator.schemaProblems(schema, path: location) == [])
        }
        #expect(Self.document["openapi"] == "3.1.0")
        #expect(Self.document["info"]?["version"]?.stringValue == TetherVersion.current)
    }

    @Test("every operation has an id, a summary and described responses; every error answer uses the envelope")
    func operationsAreComplete() {
        let codes = Set((Self.document["components"]?["schemas"]?["ErrorCode"]?["enum"]?.arrayValue ?? []).compactMap(\.stringValue))
        #expect(codes.count >= 9)
        var ids: Set<String> = []
        for (path, item) in Self.document["paths"]?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:] where method != "parameters" {
                let id = operation["operationId"]?.stringValue ?? ""
                #expect(!id.isEmpty && ids.insert(id).inserted, "\(method) \(path): a unique operationId")
                #expect(operation["summary"]?.stringValue?.isEmpty == false)
                for (status, response) in operation["responses"]?.objectValue ?? [:] {
                    let response = Self.resolve(response)
                    #expect(response["description"]?.stringValue?.isEmpty == false, "\(method) \(path) \(status)")
                    if let code = Int(status), code >= 400 {
                        let schema = response["content"]?["application/json"]?["schema"]
                        #expect(schema?["$ref"] == "#/components/schemas/Error", "\(method) \(path) \(status)")
                        // The codes this answer can carry, each one of the error codes.
                        let listed = (response["x-error-codes"]?.arrayValue ?? []).compactMap(\.stringValue)
                        #expect(!listed.isEmpty && Set(listed).isSubset(of: codes), "\(method) \(path) \(status)")
                    }
                }
            }
        }
    }

    @Test("every /v1 operation asks for the bearer key (and may answer 401); /metrics may; nothing else does")
    func security() {
        var secured: Set<String> = []
        var optional: Set<String> = []
        var all: Set<String> = []
        for (path, item) in Self.document["paths"]?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:] where method != "parameters" {
                let name = "\(method.uppercased()) \(path)"
                all.insert(name)
                guard let requirements = operation["security"]?.arrayValue else { continue }
                #expect(operation["responses"]?["401"] != nil, "\(name): a secured operation can answer 401")
                if requirements.contains(where: { $0.objectValue?.isEmpty == true }) {
                    optional.insert(name)
                } else {
                    secured.insert(name)
                }
            }
        }
        let v1 = Set(all.filter { $0.contains(" /v1/") })
        #expect(v1.count == 12)
        #expect(secured == v1)
        #expect(optional == ["GET /metrics"])
    }

    @Test("what APIRendering writes validates against the declared schemas, and a wrong field does not")
    func renderingMatchesSchemas() throws {
        let error = RunError(code: "step_failed", message: "boom", type: "NonRetriableError")
        let event = EventRecord(
            id: "e1", name: "order/created", data: Array(#"{"a":1}"#.utf8), timestampMilliseconds: 5)
        let steps = [
            StepRecord(
                id: "a", status: .completed, attempts: 1, output: Array("42".utf8), worker: "w",
                startedAtMilliseconds: 9, endedAtMilliseconds: 10),
            StepRecord(id: "b", status: .failed, attempts: 2, error: error),
            StepRecord(id: "nap", status: .sleeping, attempts: 0, kind: .sleep, dueAtMilliseconds: 99),
            StepRecord(
                id: "wait", status: .waiting, attempts: 0, kind: .waitForEvent, dueAtMilliseconds: 99, waitEvent: "x"),
            StepRecord(id: "child", status: .invoking, attempts: 0, kind: .invoke, childRunId: "r2"),
            StepRecord(id: "p", status: .pending, attempts: 1, nextAttemptAtMilliseconds: 50),
        ]
        let run = RunRecord(
            id: "r1", functionId: "shop:f", app: "shop", functionSlug: "f", status: .sleeping, events: [event, event],
            createdAtMilliseconds: 1, startedAtMilliseconds: 2, maxAttempts: 4, steps: steps, parentRunId: "r0",
            parentStepId: "s")
        let rendered = Self.json(APIRendering.run(run))
        #expect(Self.validator.problems(rendered, against: Self.schema("Run")) == [])
        #expect(Self.validator.problems(Self.json(APIRendering.runSummary(run)), against: Self.schema("RunSummary")) == [])
        var wrong = try #require(rendered.objectValue)
        wrong["status"] = "asleep"
        #expect(Self.validator.problems(.object(wrong), against: Self.schema("Run")).count == 1)
        wrong["surprise"] = true
        #expect(Self.validator.problems(.object(wrong), against: Self.schema("Run")).count == 2)

        let flow = FlowControl(
            concurrency: [ConcurrencyLimit(limit: 10), ConcurrencyLimit(limit: 2, key: "event.data.c")],
            throttle: Throttle(limit: 5, periodMilliseconds: 60_000, burst: 2),
            rateLimit: RateLimit(limit: 100, periodMilliseconds: 3_600_000, key: "event.data.c"),
            debounce: Debounce(periodMilliseconds: 5_000),
            batchEvents: BatchEvents(maxSize: 3, timeoutMilliseconds: 500),
            priority: "event.data.boost", singleton: Singleton(mode: .skip))
        let definition = FunctionDefinition(
            app: "shop", slug: "f", name: "F",
            triggers: [.event(name: "a", expression: nil), .cron(schedule: "0 3 * * *", timeZone: "")],
            cancelOn: [CancelOnDefinition(event: "stop")], timeoutStartMilliseconds: 1_000,
            idempotency: "event.data.id",
            flow: flow)
        #expect(Self.validator.problems(Self.json(APIRendering.config(definition)), against: Self.schema("FunctionConfig")) == [])
        for trigger in definition.triggers {
            #expect(Self.validator.problems(Self.json(APIRendering.trigger(trigger)), against: Self.schema("Trigger")) == [])
        }
        let receipt = EventReceipt(
            eventId: "e", runIds: ["r"],
            flow: [
                FlowOutcome(functionId: "shop:a", kind: .rateLimited),
                FlowOutcome(functionId: "shop:b", kind: .batched),
            ])
        #expect(Self.validator.problems(Self.json(APIRendering.receipt(receipt)), against: Self.schema("EventReceipt")) == [])
    }

    @Test("a backup's manifest and summary, as the API renders them, validate against their schemas")
    func backupRenderingMatchesSchemas() {
        let files = [
            TetherStore.BackupManifest.File(path: "db/CURRENT", bytes: 16, sha256: String(repeating: "ab", count: 32)),
            TetherStore.BackupManifest.File(
                path: "db/000009.sst", bytes: 4_096, sha256: String(repeating: "0f", count: 32)),
        ]
        for (layout, sequence) in [(1, nil), (nil, UInt64(77))] as [(Int?, UInt64?)] {
            let manifest = TetherStore.BackupManifest(
                id: "01JH2W6V8Q4Z5T3X7Y9B1C2D3E", createdAtMilliseconds: 1_795_000_020_123, coordinatorVersion: "0.1.0",
                keyLayoutVersion: layout, journalSequence: sequence, files: files)
            let rendered = Self.json(Components.Schemas.BackupManifest(manifest))
            #expect(Self.validator.problems(rendered, against: Self.schema("BackupManifest")) == [])
            #expect(rendered["totalBytes"] == 4_112)
            #expect(rendered["createdAt"] == "2026-11-18T11:07:00.123Z")
            #expect(rendered["journalSequence"] == (sequence.map { .int(Int64($0)) } ?? .null))
            let summary = Self.json(Components.Schemas.BackupSummary(manifest))
            #expect(Self.validator.problems(summary, against: Self.schema("BackupSummary")) == [])
            #expect(summary["fileCount"] == 2)
            // The file's JSON and the API's have the same keys.
            let file = try! JSONValue(parsing: Array(manifest.encoded()))
            let keys = { (value: JSONValue) in Set(value.objectValue.map { Array($0.keys) } ?? []) }
            #expect(keys(file) == keys(rendered))
        }
    }

    @Test("a store failure on a route is 503 storage_unavailable, anything unexpected 500 internal, both documented")
    func unexpectedErrors() {
        struct Surprise: Error {}
        let store = APIErrorMiddleware<BasicRequestContext>.apiError(
            for: StoreError.closed("the database"), maxRequestBodyBytes: 1)
        #expect(store.status == .serviceUnavailable)
        #expect(store.code == .storage_unavailable)
        let other = APIErrorMiddleware<BasicRequestContext>.apiError(for: Surprise(), maxRequestBodyBytes: 1)
        #expect(other.status == .internalServerError)
        #expect(other.code == ._internal)
        let codes = Self.document["components"]?["schemas"]?["ErrorCode"]?["enum"]?.arrayValue ?? []
        #expect(codes.contains("storage_unavailable") && codes.contains("internal"))
        #expect(Self.document["paths"]?["/v1/runs/{id}"]?["get"]?["responses"]?["503"] != nil)
    }

    @Test("an answer that differs from the document in status, content type, body or error code has a problem")
    func answerProblems() {
        func problems(_ status: Int, _ contentType: String, _ body: String, _ method: String = "GET") -> [String] {
            Self.contract.answerProblems(
                method, "/v1/runs/{id}", status: status, contentType: contentType, body: Array(body.utf8))
        }
        let json = "application/json; charset=utf-8"
        let notFound = #"{"error":{"code":"not_found","message":"no run"}}"#
        #expect(problems(404, json, notFound) == [])
        #expect(problems(418, json, notFound).count == 1, "an undocumented status")
        #expect(problems(404, "text/html", notFound).count == 1, "an undeclared content type")
        #expect(problems(404, json, "not json").count == 1, "a body that is not JSON")
        #expect(problems(404, json, #"{"error":{"code":"conflict","message":"x"}}"#).count == 1, "an unlisted code")
        #expect(problems(404, json, #"{"error":{"code":"not_found"}}"#).count == 1, "a body off its schema")
        #expect(problems(404, json, notFound, "DELETE").count == 1, "an undocumented operation")
    }
}
