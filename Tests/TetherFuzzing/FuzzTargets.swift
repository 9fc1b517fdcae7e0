import Foundation
import NIOCore
import TetherCoordinator
import TetherEngine
import TetherProtocol

/// The fuzz targets: each takes arbitrary bytes and feeds them to the code that reads client
/// input, the way the coordinator does.
///
/// None of them throws: expected errors (a malformed frame, invalid JSON, a bad expression) are
/// caught and ignored. Only a trap is a finding: a crash in the code under test, or a
/// `precondition` here on a property that must hold (such as the JSON round trip).
///
/// Run them with libFuzzer through `scripts/fuzz.sh`; `TetherFuzzTests` replays the committed
/// corpus (`Fuzz/Corpus/<target>/`) in the normal test suite.
public enum FuzzTargets {
    /// The target names, as `TETHER_FUZZ_TARGET` and the corpus directories spell them.
    public static let names = ["frame", "json", "expression", "cron", "eventBody"]

    /// The target called `name`, or nil when there is none.
    public static func named(_ name: String) -> (@Sendable ([UInt8]) -> Void)? {
        switch name {
        case "frame": frame
        case "json": json
        case "expression": expression
        case "cron": cron
        case "eventBody": eventBody
        default: nil
        }
    }

    // MARK: Frames

    /// A worker's byte stream: length-prefixed `tether.v1.Frame`s, decoded by ``FrameDecoder``
    /// with the coordinator's limit and converted as the coordinator converts them.
    ///
    /// Hello: every function through `FunctionDefinition(_:app:)`, `validate(limits:)` and a
    /// registration with a scheduler. Step results: `StepOutcome(_:)`, then applied by a scheduler
    /// that has a run leased to this connection (an empty request or run id stands for the
    /// latest dispatch's, so that seeds reach the scheduler). Heartbeats, capacity updates,
    /// pause and goodbye go to the scheduler too; time advances a second per frame, and by a
    /// day and a year at the end, firing timers.
    public static func frame(_ data: [UInt8]) {
        var buffer = ByteBuffer(bytes: data)
        let decoder = FrameDecoder(maxFrameBytes: Limits.default.maxFrameBytes)
        var session = FrameSession()
        while true {
            let frame: Tether_V1_Frame
            do {
                guard let decoded = try decoder.decodeFrame(from: &buffer) else { break }
                frame = decoded
            } catch {
                break
            }
            checkRoundTrip(frame)
            session.receive(frame)
        }
        session.finish()
    }

    /// A decoded frame serializes and parses back to an equal frame (unknown fields included).
    static func checkRoundTrip(_ frame: Tether_V1_Frame) {
        let bytes: [UInt8]
        do {
            bytes = try frame.serializedBytes()
        } catch {
            return
        }
        do {
            let again = try Tether_V1_Frame(serializedBytes: bytes)
            precondition(again == frame, "a decoded frame re-serializes to a different frame")
        } catch {
            preconditionFailure("a decoded frame re-serializes to bytes that do not parse: \(error)")
        }
    }

    /// The scheduler a frame stream talks to: a worker `w` of app `shop` with one dispatched run.
    struct FrameSession {
        static let connection = "w"
        static let start: Int64 = 1_700_000_000_000

        /// Built once: registering and dispatching costs more than copying.
        static let template: (core: CoordinatorCore, requestId: String, runId: String) = {
            // Every invariant is checked after each command: a broken one traps, and the fuzzer reports it.
            var core = CoordinatorCore(configuration: .init(checksInvariants: true), seed: 1)
            let function = FunctionDefinition(
                app: "shop", slug: "fuzz", name: "", triggers: [.event(name: "fuzz/go", expression: nil)])
            let registration = WorkerRegistration(
                connectionId: connection, instanceId: "i1", app: "shop", capacity: 4, functions: [function])
            if case .rejected(let error) = core.apply(.register(registration), now: start).reply {
                preconditionFailure("the fuzz session's registration failed: \(error)")
            }
            let effects = core.apply(
                .ingest([IncomingEvent(name: "fuzz/go", data: Array(#"{"n":1}"#.utf8))], known: [:]), now: start)
            guard let dispatch = effects.messages.lazy.compactMap(Self.dispatch).first else {
                preconditionFailure("the fuzz session's event was not dispatched")
            }
            return (core, dispatch.requestId, dispatch.run.id)
        }()

        static func dispatch(_ message: OutboundMessage) -> StepDispatch? {
            if case .dispatch(let dispatch) = message { return dispatch }
            return nil
        }

        var core = Self.template.core
        var requestId = Self.template.requestId
        var runId = Self.template.runId
        var now = Self.start
        var hellos = 0

        mutating func receive(_ frame: Tether_V1_Frame) {
            now += 1_000
            switch frame.kind {
            case .hello(let hello):
                self.hello(hello)
            case .stepResult(let result):
                let outcome: StepOutcome
                do {
                    outcome = try StepOutcome(result)
                } catch {
                    return  // the coordinator closes the connection
                }
                let effects = core.apply(
                    .result(
                        connectionId: Self.connection, requestId: result.requestID.isEmpty ? requestId : result.requestID,
                        runId: result.runID.isEmpty ? runId : result.runID, outcome: outcome), now: now)
                perform(effects)
            case .heartbeat(let heartbeat):
                perform(core.apply(.heartbeat(connectionId: Self.connection, inFlight: heartbeat.inFlightRequestIds), now: now))
            case .capacityUpdate(let update):
                perform(core.apply(.updateCapacity(connectionId: Self.connection, capacity: Int(update.capacity)), now: now))
            case .pause:
                perform(core.apply(.pause(connectionId: Self.connection), now: now))
            case .goodbye:
                perform(core.apply(.goodbye(connectionId: Self.connection), now: now))
            default:
                break  // the coordinator ignores or rejects the rest
            }
        }

        /// Converts and validates each function, then registers the worker as a second connection.
        mutating func hello(_ hello: Tether_V1_Hello) {
            let functions = hello.functions.map { FunctionDefinition($0, app: hello.appName) }
            for function in functions {
                do {
                    try function.validate(limits: .default)
                } catch {
                    continue
                }
            }
            hellos += 1
            let registration = WorkerRegistration(
                connectionId: "h\(hellos)", instanceId: hello.instanceID, app: hello.appName,
                appVersion: hello.appVersion, sdk: "\(hello.sdkName)/\(hello.sdkVersion)", capacity: Int(hello.capacity),
                labels: hello.labels, functions: functions,
                resumed: hello.resumed.map {
                    ResumedRequest(requestId: $0.requestID, runId: $0.runID, resultHeld: $0.resultHeld)
                })
            perform(core.apply(.register(registration), now: now))
        }

        /// Sends what the runtime would send: the latest dispatch becomes the target of results.
        mutating func perform(_ effects: Effects) {
            for case .dispatch(let dispatch) in effects.messages {
                var frame = Tether_V1_Frame()
                frame.stepRequest = Tether_V1_StepRequest(dispatch)
                _ = try? frame.serializedBytes() as [UInt8]
                if dispatch.connectionId == Self.connection {
                    requestId = dispatch.requestId
                    runId = dispatch.run.id
                }
            }
        }

        /// Lets time pass: a day, then a year (timeouts, sleeps, cron, lease expiry).
        mutating func finish() {
            perform(core.apply(.tick, now: now + 24 * 3_600_000))
            perform(core.apply(.tick, now: now + 366 * 24 * 3_600_000))
        }
    }

    // MARK: JSON

    /// `JSONValue(parsing:)`; a document that parses serializes to JSON that parses back to an
    /// equal value (with the same hash) and serializes to the same bytes again.
    public static func json(_ data: [UInt8]) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: data)
        } catch {
            return
        }
        let bytes = value.serialized()
        let again: JSONValue
        do {
            again = try JSONValue(parsing: bytes)
        } catch {
            preconditionFailure(
                "serialized JSON does not parse: \(error.message); serialized: \(String(decoding: bytes, as: UTF8.self))")
        }
        precondition(again == value, "JSON round trip changed the value: \(String(decoding: bytes, as: UTF8.self))")
        precondition(again.hashValue == value.hashValue, "equal JSON values hash differently")
        precondition(again.serialized() == bytes, "JSON serialization is not stable: \(String(decoding: bytes, as: UTF8.self))")
    }

    // MARK: Expressions

    /// The event an expression is evaluated against: every JSON type, and numbers at the edges
    /// (`Int64.min`/`max`, the largest and smallest doubles).
    static let event: JSONValue = [
        "id": "01HZX3Q5V7K9M2N4P6R8T0W2Y4",
        "name": "shop/order.created",
        "ts": 1_700_000_000_000,
        "v": "2024-01-01",
        "data": [
            "orderId": "o-1",
            "customer": ["id": "c-42", "tier": "gold", "tags": ["vip", "eu"]],
            "total": 120.5,
            "count": 3,
            "items": [["sku": "a", "qty": 1, "price": 9.99], ["sku": "b", "qty": 2, "price": 0.1]],
            "big": .int(.max),
            "small": .int(.min),
            "huge": .double(.greatestFiniteMagnitude),
            "tiny": .double(.leastNonzeroMagnitude),
            "flag": true,
            "none": .null,
            "text": "é😀\u{0}",
            "": "empty key",
            "0": 0,
        ],
    ]

    /// The `async` event: joins with ``event`` on `orderId`.
    static let asyncEvent: JSONValue = [
        "name": "shop/order.paid",
        "ts": 1_700_000_060_000,
        "data": ["orderId": "o-1", "amount": 120.5, "big": .int(.max), "neg": -1, "items": [1, 2.5, "3", .null]],
    ]

    /// `Expression(parsing:)` of the input as UTF-8 (invalid bytes replaced), then evaluation with
    /// and without `async`, the paths it reads (resolved) and its equality joins.
    public static func expression(_ data: [UInt8]) {
        let source = String(decoding: data, as: UTF8.self)
        let parsed: TetherEngine.Expression
        do {
            parsed = try TetherEngine.Expression(parsing: source)
        } catch {
            return
        }
        _ = parsed.evaluate(event: event, async: asyncEvent)
        _ = parsed.matches(event: event)
        _ = parsed.evaluate(event: .null, async: event)
        for root in TetherEngine.Expression.Root.allCases {
            for path in parsed.paths(root: root) {
                _ = TetherEngine.Expression.resolve(path, in: root == .event ? event : asyncEvent)
            }
        }
        for join in parsed.equalityJoins {
            _ = TetherEngine.Expression.resolve(join.asyncPath, in: asyncEvent) == TetherEngine.Expression.resolve(join.eventPath, in: event)
        }
    }

    // MARK: Cron

    /// Times the next tick is computed from: ordinary, at New York's spring-forward and fall-back
    /// (2024), the epoch, a leap day, and late in the range.
    static let cronStarts: [Date] = [
        1_700_000_000,  // 2023-11-14T22:13:20Z
        1_710_052_200,  // 2024-03-10T06:30:00Z, 01:30 EST, half an hour before the gap
        1_730_611_800,  // 2024-11-03T05:30:00Z, 01:30 EDT, before the repeated hour
        0,
        951_782_399.5,  // 2000-02-28T23:59:59.5Z
        4_102_444_799,  // 2099-12-31T23:59:59Z
    ].map { Date(timeIntervalSince1970: $0) }

    /// `CronSchedule(parsing:timeZone:)`: the input up to the first newline is the schedule, the
    /// rest (if any) the time-zone argument. A schedule that parses gets its next three ticks from
    /// each start time; each must be later than the one before.
    public static func cron(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let zone = parts.count > 1 ? String(parts[1]) : nil
        let schedule: CronSchedule
        do {
            schedule = try CronSchedule(parsing: String(parts[0]), timeZone: zone)
        } catch {
            return
        }
        for start in cronStarts {
            var date = start
            for _ in 0..<3 {
                guard let next = schedule.next(after: date) else { break }
                precondition(next > date, "cron '\(schedule)': next(after: \(date)) is \(next), not later")
                date = next
            }
        }
    }

    // MARK: Event bodies

    /// `EventParsing.parse` of a `POST /v1/events` body with the default limits; what it accepts
    /// has 1–1,000 events, each with a timestamp in range and `data` that is a JSON object within
    /// the size limit.
    public static func eventBody(_ data: [UInt8]) {
        let limits = Limits.default
        let events: [IncomingEvent]
        do {
            events = try EventParsing.parseUntyped(ByteBuffer(bytes: data), limits: limits)
        } catch {
            return
        }
        precondition((1...1_000).contains(events.count), "accepted \(events.count) events")
        for event in events {
            if let ts = event.timestampMilliseconds {
                precondition((0...limits.maxEventTimestampMilliseconds).contains(ts), "accepted ts \(ts)")
            }
            precondition(event.data.count <= limits.maxEventBytes, "accepted \(event.data.count) bytes of data")
            let value = try? JSONValue(parsing: event.data)
            precondition(value?.objectValue != nil, "accepted data that is not a JSON object")
        }
    }
}
