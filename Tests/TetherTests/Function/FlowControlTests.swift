import Testing
import TetherEngine
import TetherProtocol

@testable import Tether

@Suite("TetherFunction: flow-control modifiers")
struct FlowControlTests {
    static func function(_ id: String = "f") -> TetherFunction {
        TetherFunction(id, trigger: .event("order/created")) { (_: Context<OrderCreated>) in }
    }

    @Test func everyModifierReachesTheConfig() {
        let config = Self.function()
            .concurrency(limit: 50)
            .concurrency(limit: 2, key: "event.data.customerId")
            .throttle(limit: 10, per: .seconds(60), burst: 3, key: "event.data.shop")
            .rateLimit(limit: 100, per: .seconds(3_600), key: "event.data.userId")
            .priority("event.data.boostSeconds")
            .singleton(key: "event.data.accountId", mode: .cancel)
            .config

        #expect(config.concurrency.map(\.limit) == [50, 2])
        #expect(config.concurrency.map(\.key) == ["", "event.data.customerId"])
        #expect(config.hasThrottle)
        #expect(config.throttle.limit == 10 && config.throttle.periodMs == 60_000)
        #expect(config.throttle.burst == 3 && config.throttle.key == "event.data.shop")
        #expect(config.hasRateLimit)
        #expect(config.rateLimit.limit == 100 && config.rateLimit.periodMs == 3_600_000)
        #expect(config.rateLimit.key == "event.data.userId")
        #expect(config.priority == "event.data.boostSeconds")
        #expect(config.hasSingleton)
        #expect(config.singleton.key == "event.data.accountId" && config.singleton.mode == .cancel)
        #expect(!config.hasDebounce && !config.hasBatchEvents)
    }

    @Test func debounceAndBatchEventsReachTheConfig() {
        let debounced = Self.function().debounce(.milliseconds(1.5), key: "event.data.docId", timeout: .seconds(10))
            .config
        #expect(debounced.hasDebounce)
        #expect(debounced.debounce.periodMs == 2, "rounded up to whole milliseconds")
        #expect(debounced.debounce.key == "event.data.docId" && debounced.debounce.timeoutMs == 10_000)

        let withoutTimeout = Self.function().debounce(.seconds(1)).config
        #expect(withoutTimeout.debounce.timeoutMs == 0 && withoutTimeout.debounce.key == "")

        let batched = Self.function().batchEvents(maxSize: 25, timeout: .seconds(5), key: "event.data.tenant").config
        #expect(batched.hasBatchEvents)
        #expect(batched.batchEvents.maxSize == 25 && batched.batchEvents.timeoutMs == 5_000)
        #expect(batched.batchEvents.key == "event.data.tenant")
    }

    @Test func singletonSkipWithoutKey() {
        let config = Self.function().singleton(mode: .skip).config
        #expect(config.hasSingleton && config.singleton.mode == .skip && config.singleton.key == "")
    }

    @Test func noModifierSetsNothing() {
        let config = Self.function().config
        #expect(config.concurrency.isEmpty && config.priority.isEmpty)
        #expect(!config.hasThrottle && !config.hasRateLimit && !config.hasDebounce)
        #expect(!config.hasBatchEvents && !config.hasSingleton)
    }

    @Test func modifiersReturnACopyAndLaterCallsReplace() {
        let original = Self.function()
        let throttled = original.throttle(limit: 1, per: .seconds(1)).throttle(limit: 5, per: .seconds(2))
        #expect(!original.config.hasThrottle, "the original is unchanged")
        #expect(throttled.config.throttle.limit == 5 && throttled.config.throttle.periodMs == 2_000)
        #expect(throttled.id == original.id && throttled.triggers == original.triggers)
    }

    @Test func theOnFailureHandlerInheritsNoFlowControl() throws {
        let function = TetherFunction(
            "process-order", trigger: .event("order/created"),
            onFailure: { (_: FailureContext<OrderCreated>) in }
        ) { (_: Context<OrderCreated>) in }
        .concurrency(limit: 1)
        .rateLimit(limit: 1, per: .seconds(60))
        .singleton(mode: .skip)
        let configs = function.configs(app: "shop")
        try #require(configs.count == 2)
        #expect(configs[0].concurrency.count == 1 && configs[0].hasRateLimit && configs[0].hasSingleton)
        #expect(configs[1].id == "process-order-failure")
        #expect(FlowControl(configs[1]) == .none)
    }

    @Test func theCoordinatorReadsTheSameFlowControl() throws {
        let function = Self.function()
            .concurrency(limit: 2, key: "event.data.customerId")
            .debounce(.seconds(5), key: "event.data.id", timeout: .seconds(60))
            .priority("event.data.boostSeconds")
        let definition = FunctionDefinition(function.config, app: "shop")
        #expect(definition.flow == function.definition(app: "shop").flow)
        #expect(
            definition.flow.debounce
                == Debounce(periodMilliseconds: 5_000, key: "event.data.id", timeoutMilliseconds: 60_000))
        try definition.validate()
    }

    @Test func validFlowControlPasses() throws {
        try TetherFunction.validate(
            [
                Self.function("a")
                    .concurrency(limit: 100)
                    .concurrency(limit: 1, key: "event.data.customerId")
                    .throttle(limit: 10, per: .seconds(1), burst: 5)
                    .rateLimit(limit: 1, per: .seconds(60), key: "event.data.userId + ':' + event.data.kind")
                    .debounce(.seconds(1), timeout: .seconds(1))
                    .priority("event.data.boostSeconds - 10")
                    .singleton(key: "event.data.accountId", mode: .cancel),
                Self.function("b").batchEvents(maxSize: 1_000, timeout: .seconds(7 * 86_400)),
            ],
            app: "shop")
    }

    @Test(arguments: [
        (
            FlowControlTests.function().concurrency(limit: 1).concurrency(limit: 2, key: "event.data.a")
                .concurrency(limit: 3, key: "event.data.b"),
            "at most 2 concurrency limits are allowed, got 3"
        ),
        (FlowControlTests.function().concurrency(limit: 1).concurrency(limit: 2), "different keys"),
        (FlowControlTests.function().concurrency(limit: 0), "concurrency 1 limit must be between 1 and"),
        (
            FlowControlTests.function().concurrency(limit: 5, key: "event.data.("),
            "invalid concurrency 1 key expression"
        ),
        (FlowControlTests.function().throttle(limit: 1, per: .zero), "throttle period must be between 1 and"),
        (FlowControlTests.function().throttle(limit: 1, per: .seconds(1), burst: -1), "throttle burst"),
        (FlowControlTests.function().throttle(limit: 1, per: .seconds(1), key: "event.x ="), "invalid throttle key"),
        (FlowControlTests.function().rateLimit(limit: 1, per: .seconds(8 * 86_400)), "rateLimit period"),
        (FlowControlTests.function().rateLimit(limit: 2_000_000, per: .seconds(1)), "rateLimit limit"),
        (
            FlowControlTests.function().debounce(.seconds(10), timeout: .seconds(5)),
            "must not be shorter than its period"
        ),
        (FlowControlTests.function().debounce(.seconds(-1)), "debounce period"),
        (
            FlowControlTests.function().debounce(.seconds(1), key: "async.data.id"),
            "invalid debounce key expression \"async.data.id\": it is computed from `event` only"
        ),
        (FlowControlTests.function().batchEvents(maxSize: 0, timeout: .seconds(1)), "batchEvents maxSize must be"),
        (FlowControlTests.function().batchEvents(maxSize: 1_001, timeout: .seconds(1)), "batchEvents maxSize must be"),
        (FlowControlTests.function().batchEvents(maxSize: 10, timeout: .zero), "batchEvents timeout"),
        (
            FlowControlTests.function().debounce(.seconds(1)).batchEvents(maxSize: 10, timeout: .seconds(1)),
            "debounce and batchEvents cannot be combined"
        ),
        (FlowControlTests.function().priority("async.data.boost"), "invalid priority expression"),
        (FlowControlTests.function().priority("event.data.("), "invalid priority expression"),
        (FlowControlTests.function().singleton(key: "event.data.a ==", mode: .skip), "invalid singleton key"),
    ])
    func invalidFlowControlFailsAtWorkerStart(function: TetherFunction, fragment: String) {
        #expect(rejectsAtWorkerStart([function], containing: fragment))
    }
}
