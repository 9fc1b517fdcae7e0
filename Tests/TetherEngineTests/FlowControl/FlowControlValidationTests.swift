import Testing

@testable import TetherEngine

@Suite("Flow control: invalid configurations are refused with the setting named")
struct FlowControlValidationTests {
    static let cases: [(FlowControl, String)] = [
        (FlowControl(concurrency: [.init(limit: 1), .init(limit: 2, key: "event.data.a"), .init(limit: 3, key: "event.data.b")]),
         "at most 2 concurrency limits"),
        (FlowControl(concurrency: [.init(limit: 0)]), "concurrency 1 limit must be between 1"),
        (FlowControl(concurrency: [.init(limit: 1, key: "event.data.a"), .init(limit: 2, key: "event.data.a")]),
         "different keys"),
        (FlowControl(concurrency: [.init(limit: 1, key: "event.data.(")]), "invalid concurrency 1 key expression"),
        (FlowControl(throttle: Throttle(limit: 1, periodMilliseconds: 0)), "throttle period must be between 1"),
        (FlowControl(throttle: Throttle(limit: 1, periodMilliseconds: 1_000, burst: -1)), "throttle burst"),
        (FlowControl(rateLimit: RateLimit(limit: 0, periodMilliseconds: 1_000)), "rateLimit limit"),
        (FlowControl(rateLimit: RateLimit(limit: 1, periodMilliseconds: 8 * 24 * 3_600_000)), "rateLimit period"),
        (FlowControl(debounce: Debounce(periodMilliseconds: 1_000, timeoutMilliseconds: 500)), "must not be shorter than its period"),
        (FlowControl(batchEvents: BatchEvents(maxSize: 0, timeoutMilliseconds: 1_000)), "batchEvents maxSize"),
        (FlowControl(batchEvents: BatchEvents(maxSize: 1_001, timeoutMilliseconds: 1_000)), "batchEvents maxSize"),
        (FlowControl(debounce: Debounce(periodMilliseconds: 1_000), batchEvents: BatchEvents(maxSize: 2, timeoutMilliseconds: 1_000)),
         "cannot be combined"),
        (FlowControl(priority: "async.data.priority"), "`async` is not available"),
        (FlowControl(priority: "event.data.p +"), "invalid priority expression"),
        (FlowControl(singleton: Singleton(key: "event.data.(", mode: .skip)), "invalid singleton key expression"),
    ]

    @Test("each invalid setting fails validation with invalid_config", arguments: cases)
    func invalid(flow: FlowControl, expected: String) {
        let function = CoreHarness.flowFunction(flow)
        #expect(throws: TetherError.self) { try function.validate() }
        do {
            try function.validate()
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("every mechanism at once, within its bounds, is valid")
    func valid() throws {
        let flow = FlowControl(
            concurrency: [.init(limit: 100), .init(limit: 10, key: "event.data.customerId")],
            throttle: Throttle(limit: 10, periodMilliseconds: 60_000, burst: 5, key: "event.data.customerId"),
            rateLimit: RateLimit(limit: 1, periodMilliseconds: 24 * 3_600_000, key: "event.data.email"),
            batchEvents: BatchEvents(maxSize: 100, timeoutMilliseconds: 5_000, key: "event.data.customerId"),
            priority: "event.data.boostSeconds", singleton: Singleton(key: "event.data.customerId", mode: .cancel))
        try CoreHarness.flowFunction(flow).validate()
    }
}
