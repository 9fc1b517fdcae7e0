import Testing
import TetherEngine
import TetherProtocol

/// The largest and smallest numbers a worker can put in a Hello or a step result: converting them
/// never traps, and the coordinator rejects the ones out of range (`invalid_config` at registration,
/// a failed step at run time).
@Suite("Engine conversions: extreme numbers from the wire")
struct EngineConversionsExtremesTests {
    /// A function config with every numeric field set to `count` (counts) or `milliseconds` (durations).
    static func config(count: UInt32, milliseconds: Int64) -> Tether_V1_FunctionConfig {
        var config = Tether_V1_FunctionConfig()
        config.id = "sync"
        config.triggers = [.with { $0.event = .with { $0.event = "doc/updated" } }]
        config.retries = count
        config.timeoutStartMs = milliseconds
        config.timeoutFinishMs = milliseconds
        config.concurrency = [.with { $0.limit = count }]
        config.throttle = .with {
            $0.limit = count
            $0.periodMs = milliseconds
            $0.burst = count
        }
        config.rateLimit = .with {
            $0.limit = count
            $0.periodMs = milliseconds
        }
        config.debounce = .with {
            $0.periodMs = milliseconds
            $0.timeoutMs = milliseconds
        }
        return config
    }

    static func registrationError(_ definition: FunctionDefinition, capacity: Int = 1) -> TetherError? {
        var core = CoordinatorCore(seed: 1)
        let registration = WorkerRegistration(
            connectionId: "c1", instanceId: "i1", app: "shop", appVersion: "1", capacity: capacity,
            functions: [definition])
        if case .rejected(let error) = core.apply(.register(registration), now: 1_700_000_000_000).reply {
            return error
        }
        return nil
    }

    @Test(
        "a Hello with every count and duration at an extreme converts, and registration rejects it as invalid_config",
        arguments: [
            (UInt32.max, Int64.max), (UInt32.max, Int64.min), (0, Int64.min), (0, -1), (UInt32.max, 0),
            (2_000_000, 8 * 24 * 3_600_000),
        ] as [(UInt32, Int64)])
    func extremeFunctionConfig(count: UInt32, milliseconds: Int64) throws {
        let definition = FunctionDefinition(Self.config(count: count, milliseconds: milliseconds), app: "shop")
        #expect(definition.retries == Int(count))
        #expect(definition.flow.throttle?.limit == Int(count))
        #expect(definition.flow.throttle?.periodMilliseconds == milliseconds)
        #expect(throws: TetherError.self) { try definition.validate() }
        let error = try #require(Self.registrationError(definition))
        #expect(error.code == .invalidConfig)
        #expect(error.message.contains("sync"), "\(error.message)")
    }

    @Test("each setting alone at an extreme is rejected naming it")
    func eachSettingAlone() throws {
        let base = FunctionDefinition(
            app: "shop", slug: "sync", name: "", triggers: [.event(name: "doc/updated", expression: nil)])
        var cases: [(String, FunctionDefinition)] = []
        func add(_ name: String, _ change: (inout FunctionDefinition) -> Void) {
            var definition = base
            change(&definition)
            cases.append((name, definition))
        }
        let huge = Int(UInt32.max)
        add("retries") { $0.retries = huge }
        add("timeouts.start") { $0.timeoutStartMilliseconds = .max }
        add("timeouts.finish") { $0.timeoutFinishMilliseconds = .min }
        add("concurrency 1 limit") { $0.flow.concurrency = [ConcurrencyLimit(limit: huge)] }
        add("throttle limit") { $0.flow.throttle = Throttle(limit: huge, periodMilliseconds: 1_000) }
        add("throttle period") { $0.flow.throttle = Throttle(limit: 1, periodMilliseconds: .max) }
        add("throttle burst") { $0.flow.throttle = Throttle(limit: 1, periodMilliseconds: 1_000, burst: huge) }
        add("rateLimit limit") { $0.flow.rateLimit = RateLimit(limit: huge, periodMilliseconds: 1_000) }
        add("rateLimit period") { $0.flow.rateLimit = RateLimit(limit: 1, periodMilliseconds: .min) }
        add("debounce period") { $0.flow.debounce = Debounce(periodMilliseconds: .max) }
        add("debounce timeout") { $0.flow.debounce = Debounce(periodMilliseconds: 1, timeoutMilliseconds: .max) }
        add("batchEvents maxSize") { $0.flow.batchEvents = BatchEvents(maxSize: huge, timeoutMilliseconds: 1_000) }
        add("batchEvents timeout") { $0.flow.batchEvents = BatchEvents(maxSize: 1, timeoutMilliseconds: .max) }
        for (name, definition) in cases {
            // Through the wire and back first, as a Hello carries it.
            let received = FunctionDefinition(Tether_V1_FunctionConfig(definition), app: "shop")
            let error = try #require(Self.registrationError(received), "\(name) was accepted")
            #expect(error.code == .invalidConfig)
            #expect(error.message.contains(name), "\(name): \(error.message)")
        }
        #expect(Self.registrationError(base) == nil)
        #expect(Self.registrationError(base, capacity: Int(UInt32.max))?.code == .invalidConfig)
    }

    @Test("planned ops with extreme numbers convert unchanged; the scheduler judges them")
    func extremePlannedOps() throws {
        var sleep = Tether_V1_StepOp()
        sleep.stepID = "nap"
        sleep.sleep = .with {
            $0.durationMs = .max
            $0.untilUnixMs = .min
        }
        #expect(try PlannedOperation(sleep) == .sleep(durationMilliseconds: .max, untilMilliseconds: .min))

        var wait = Tether_V1_StepOp()
        wait.stepID = "approval"
        wait.waitForEvent = .with {
            $0.event = "order/approved"
            $0.timeoutMs = .min
        }
        let expected = PlannedOperation.waitForEvent(event: "order/approved", match: nil, timeoutMilliseconds: .min)
        #expect(try PlannedOperation(wait) == expected)

        var send = Tether_V1_StepOp()
        send.stepID = "notify"
        send.sendEvent = .with {
            $0.events = [
                .with {
                    $0.name = "a/b"
                    $0.tsUnixMs = .max
                },
                .with {
                    $0.name = "a/c"
                    $0.tsUnixMs = .min
                },
            ]
        }
        guard case .sendEvent(let events) = try PlannedOperation(send) else {
            Issue.record("not a sendEvent")
            return
        }
        #expect(events.map(\.timestampMilliseconds) == [.max, nil])

        var result = Tether_V1_StepResult()
        result.stepFailed = .with {
            $0.stepID = "charge"
            $0.error = .with { $0.retryAtUnixMs = .max }
            $0.startedAtUnixMs = .min
            $0.endedAtUnixMs = .max
        }
        guard case .stepFailed(let failure) = try StepOutcome(result) else {
            Issue.record("not a stepFailed")
            return
        }
        #expect(failure.retryAtMilliseconds == .max)
    }
}
