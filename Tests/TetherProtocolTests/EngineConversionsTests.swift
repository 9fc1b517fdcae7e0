import Foundation
import SwiftProtobuf
import Testing
import TetherEngine
import TetherProtocol

@Suite("Engine conversions: FunctionConfig ⇄ FunctionDefinition")
struct EngineConversionsTests {
    static let everyFlowSetting = FlowControl(
        concurrency: [ConcurrencyLimit(limit: 10), ConcurrencyLimit(limit: 2, key: "event.data.customerId")],
        throttle: Throttle(limit: 5, periodMilliseconds: 60_000, burst: 2, key: "event.data.shop"),
        rateLimit: RateLimit(limit: 100, periodMilliseconds: 3_600_000, key: "event.data.userId"),
        debounce: Debounce(periodMilliseconds: 5_000, key: "event.data.docId", timeoutMilliseconds: 60_000),
        batchEvents: BatchEvents(maxSize: 50, timeoutMilliseconds: 2_000, key: "event.data.tenant"),
        priority: "event.data.plan == 'pro'",
        singleton: Singleton(key: "event.data.accountId", mode: .cancel))

    static func definition(flow: FlowControl) -> FunctionDefinition {
        FunctionDefinition(
            app: "shop", slug: "sync", name: "Sync", triggers: [.event(name: "doc/updated", expression: nil)],
            retries: 2, idempotency: "event.data.id", flow: flow)
    }

    /// Through the wire and back, serialized in between like a real Hello.
    static func roundTrip(_ definition: FunctionDefinition) throws -> FunctionDefinition {
        let bytes: Data = try Tether_V1_FunctionConfig(definition).serializedData()
        return FunctionDefinition(try Tether_V1_FunctionConfig(serializedBytes: bytes), app: definition.app)
    }

    @Test("every flow-control setting survives the wire")
    func everyFlowSettingRoundTrips() throws {
        // Not a valid definition (debounce and batchEvents exclude each other): the conversion carries
        // both anyway, and validation comes after it.
        let definition = Self.definition(flow: Self.everyFlowSetting)
        #expect(try Self.roundTrip(definition) == definition)

        let config = Tether_V1_FunctionConfig(definition)
        #expect(config.concurrency.map(\.limit) == [10, 2])
        #expect(config.concurrency.map(\.key) == ["", "event.data.customerId"])
        #expect(config.throttle.periodMs == 60_000 && config.throttle.burst == 2)
        #expect(config.rateLimit.key == "event.data.userId")
        #expect(config.debounce.timeoutMs == 60_000)
        #expect(config.batchEvents.maxSize == 50)
        #expect(config.priority == "event.data.plan == 'pro'")
        #expect(config.singleton.mode == .cancel)
    }

    @Test("unkeyed settings and singleton skip round-trip; empty keys are nil")
    func unkeyedSettingsRoundTrip() throws {
        let flow = FlowControl(
            throttle: Throttle(limit: 1, periodMilliseconds: 1_000),
            rateLimit: RateLimit(limit: 1, periodMilliseconds: 1),
            debounce: Debounce(periodMilliseconds: 10), singleton: Singleton(mode: .skip))
        let definition = Self.definition(flow: flow)
        #expect(try Self.roundTrip(definition) == definition)
        let back = try Self.roundTrip(definition).flow
        #expect(back.throttle?.key == nil && back.rateLimit?.key == nil && back.debounce?.key == nil)
        #expect(back.debounce?.timeoutMilliseconds == 0)
        #expect(back.singleton == Singleton(mode: .skip))
    }

    @Test("no flow control sends no flow messages and reads back as none")
    func noFlowControl() throws {
        let definition = Self.definition(flow: .none)
        let config = Tether_V1_FunctionConfig(definition)
        #expect(config.concurrency.isEmpty && config.priority.isEmpty)
        #expect(!config.hasThrottle && !config.hasRateLimit && !config.hasDebounce)
        #expect(!config.hasBatchEvents && !config.hasSingleton)
        #expect(try Self.roundTrip(definition).flow.isEmpty)
    }

    @Test("setFlow clears settings the new flow control leaves unset")
    func setFlowClears() {
        var config = Tether_V1_FunctionConfig(Self.definition(flow: Self.everyFlowSetting))
        config.setFlow(.none)
        #expect(FlowControl(config) == .none)
        #expect(!config.hasThrottle && !config.hasSingleton)
    }

    @Test("a singleton mode this coordinator does not know reads as skip")
    func unknownSingletonMode() {
        var config = Tether_V1_FunctionConfig()
        config.singleton = .with { $0.mode = .UNRECOGNIZED(7) }
        #expect(FlowControl(config).singleton == Singleton(mode: .skip))
    }
}
