import Testing
import TetherAPI

@testable import TetherCoordinator
@testable import TetherEngine

@Suite("API rendering: flow control in functions, receipts and status")
struct APIRenderingTests {
    /// The compact JSON the API sends (keys sorted).
    static func text(_ value: JSONValue) -> String {
        String(decoding: value.serialized(), as: UTF8.self)
    }

    /// A generated API value as the coordinator sends it.
    static func text(_ value: some Encodable) -> String {
        String(decoding: try! APIEncoding.encoder().encode(value), as: UTF8.self)
    }

    /// A generated API value as the JSON a client reads.
    static func json(_ value: some Encodable) -> JSONValue {
        try! JSONValue(parsing: Array(APIEncoding.encoder().encode(value)))
    }

    static func definition(flow: FlowControl) -> FunctionDefinition {
        FunctionDefinition(
            app: "shop", slug: "sync", name: "Sync", triggers: [.event(name: "doc/updated", expression: nil)],
            flow: flow)
    }

    @Test("a function's config shows every flow-control setting, keys null when unset")
    func configWithFlowControl() {
        let flow = FlowControl(
            concurrency: [ConcurrencyLimit(limit: 10), ConcurrencyLimit(limit: 2, key: "event.data.customerId")],
            throttle: Throttle(limit: 5, periodMilliseconds: 60_000, burst: 2, key: "event.data.shop"),
            rateLimit: RateLimit(limit: 100, periodMilliseconds: 3_600_000),
            debounce: Debounce(periodMilliseconds: 5_000, key: "event.data.docId"),
            priority: "event.data.boostSeconds",
            singleton: Singleton(key: "event.data.accountId", mode: .cancel))
        let config = Self.json(APIRendering.config(Self.definition(flow: flow)))

        #expect(
            Self.text(config["concurrency"] ?? .null)
                == #"[{"key":null,"limit":10},{"key":"event.data.customerId","limit":2}]"#)
        #expect(
            Self.text(config["throttle"] ?? .null) == #"{"burst":2,"key":"event.data.shop","limit":5,"periodMs":60000}"#
        )
        #expect(Self.text(config["rateLimit"] ?? .null) == #"{"key":null,"limit":100,"periodMs":3600000}"#)
        #expect(
            Self.text(config["debounce"] ?? .null) == #"{"key":"event.data.docId","periodMs":5000,"timeoutMs":null}"#)
        #expect(config["priority"] == "event.data.boostSeconds")
        #expect(Self.text(config["singleton"] ?? .null) == #"{"key":"event.data.accountId","mode":"cancel"}"#)
        #expect(config["batchEvents"] == nil)
    }

    @Test("batchEvents and a debounce timeout render; a function without flow control shows none of it")
    func batchAndNone() {
        let batched = Self.json(
            APIRendering.config(
                Self.definition(flow: FlowControl(batchEvents: BatchEvents(maxSize: 50, timeoutMilliseconds: 2_000)))))
        #expect(Self.text(batched["batchEvents"] ?? .null) == #"{"key":null,"maxSize":50,"timeoutMs":2000}"#)

        let debounced = Self.json(
            APIRendering.config(
                Self.definition(
                    flow: FlowControl(debounce: Debounce(periodMilliseconds: 10, timeoutMilliseconds: 60_000)))))
        #expect(debounced["debounce"]?["timeoutMs"] == .int(60_000))

        #expect(Self.text(APIRendering.config(Self.definition(flow: .none))) == #"{"retries":4}"#)
    }

    @Test("an event receipt lists skipped and deferred functions only when there are some")
    func receipts() {
        let plain = EventReceipt(eventId: "e-1", runIds: ["r-1"])
        #expect(Self.text(APIRendering.receipt(plain)) == #"{"id":"e-1","runs":["r-1"]}"#)

        let flowed = EventReceipt(
            eventId: "e-2", runIds: ["r-2"],
            flow: [
                FlowOutcome(functionId: "shop:notify", kind: .rateLimited),
                FlowOutcome(functionId: "shop:reindex", kind: .debounced),
                FlowOutcome(functionId: "shop:sync", kind: .singleton),
                FlowOutcome(functionId: "shop:import", kind: .batched),
                FlowOutcome(functionId: "shop:charge", kind: .idempotent),
            ])
        #expect(
            Self.text(APIRendering.receipt(flowed))
                == #"{"deferred":[{"function":"shop:reindex","reason":"debounced"},{"function":"shop:import","reason":"batched"}],"#
                + #""id":"e-2","runs":["r-2"],"skipped":[{"function":"shop:notify","reason":"rate_limited"},"#
                + #"{"function":"shop:sync","reason":"singleton"},{"function":"shop:charge","reason":"idempotent"}]}"#)

        let onlyDeferred = EventReceipt(
            eventId: "e-3", runIds: [], flow: [FlowOutcome(functionId: "shop:import", kind: .batched)])
        #expect(Self.json(APIRendering.receipt(onlyDeferred))["skipped"] == nil)
    }

    @Test("a function's status has its keys, key count, debounces and batched events")
    func functionStatus() {
        var function = SchedulerStatus.Function(id: "shop:sync", queued: 5, running: 2, oldestQueuedAgeMilliseconds: 40)
        #expect(
            Self.text(APIRendering.functionStatus(function))
                == #"{"batched":0,"debouncing":0,"id":"shop:sync","keyCount":0,"keys":[],"oldestQueuedAgeMs":40,"#
                + #""queued":5,"running":2}"#)

        function.keys = [
            SchedulerStatus.Key(key: #""acme""#, queued: 4, running: 1),
            SchedulerStatus.Key(key: "null", queued: 1, running: 1),
        ]
        function.keyCount = 3
        function.debouncing = 1
        function.batched = 7
        let rendered = Self.json(APIRendering.functionStatus(function))
        #expect(
            Self.text(rendered["keys"] ?? .null)
                == #"[{"key":"\"acme\"","queued":4,"running":1},{"key":"null","queued":1,"running":1}]"#)
        #expect(rendered["keyCount"] == .int(3))
        #expect(rendered["debouncing"] == .int(1))
        #expect(rendered["batched"] == .int(7))
    }
}
