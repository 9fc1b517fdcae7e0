import Foundation
import TetherProtocol

@testable import Tether

struct OrderCreated: Codable, Sendable, Equatable {
    var orderId: String
    var amount: Int
}

struct Reservation: Codable, Sendable, Equatable {
    var sku: String
    var quantity: Int
}

struct Receipt: Codable, Sendable, Equatable {
    var orderId: String
    var chargeId: String
}

struct PaymentDeclined: Error, CustomStringConvertible {
    var description: String { "card declined" }
}

/// Counts how many times each step's closure ran, across the tasks of a test.
final class Calls: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    func record(_ name: String) {
        lock.withLock { counts[name, default: 0] += 1 }
    }

    func count(_ name: String) -> Int {
        lock.withLock { counts[name, default: 0] }
    }

    /// Every recorded name, for failure messages.
    var names: [String] {
        lock.withLock { counts.keys.sorted() }
    }

    var total: Int {
        lock.withLock { counts.values.reduce(0, +) }
    }
}

enum Fixtures {
    static let orderJSON = #"{"orderId":"o-1","amount":250}"#

    static func request(
        function: String = "process-order",
        data: String = orderJSON,
        steps: [Tether_V1_MemoizedStep] = [],
        attempt: UInt32 = 1,
        target: String = ""
    ) -> Tether_V1_StepRequest {
        var event = Tether_V1_Event()
        event.id = "evt-1"
        event.name = "order/created"
        event.data = Data(data.utf8)
        event.tsUnixMs = 1_700_000_000_123
        var request = Tether_V1_StepRequest()
        request.requestID = "req-1"
        request.runID = "run-1"
        request.functionID = "app-\(function)"
        request.functionSlug = function
        request.events = [event]
        request.steps = steps
        request.attempt = attempt
        request.maxAttempts = 5
        request.targetStepID = target
        return request
    }

    static func memoized(_ id: String, _ json: String) -> Tether_V1_MemoizedStep {
        var step = Tether_V1_MemoizedStep()
        step.id = id
        step.output = Data(json.utf8)
        return step
    }

    static func memoizedFailure(
        _ id: String,
        code: String = "step_failed",
        message: String = "card declined",
        errorType: String = "PaymentDeclined"
    ) -> Tether_V1_MemoizedStep {
        var step = Tether_V1_MemoizedStep()
        step.id = id
        var error = Tether_V1_StepError()
        error.code = code
        error.message = message
        error.errorType = errorType
        error.nonRetriable = true
        step.error = error
        return step
    }

    /// The three-step function of the README, counting its closures' runs in `calls`.
    static func processOrder(_ calls: Calls) -> TetherFunction {
        TetherFunction("process-order", trigger: .event("order/created")) { (ctx: Context<OrderCreated>) -> Receipt in
            let reservation = try await ctx.step.run("reserve-stock") {
                calls.record("reserve-stock")
                return Reservation(sku: "sku-\(ctx.event.data.orderId)", quantity: 1)
            }
            let chargeId: String = try await ctx.step.run("charge") {
                calls.record("charge")
                return "ch_\(ctx.event.data.orderId)_\(reservation.quantity)"
            }
            try await ctx.step.run("send-receipt") { calls.record("send-receipt") }
            return Receipt(orderId: ctx.event.data.orderId, chargeId: chargeId)
        }
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        try JSONCoding.makeDecoder().decode(T.self, from: data)
    }
}

extension Tether_V1_StepResult {
    /// The planned operations' step ids and kinds, such as `["b:run", "nap:sleep"]`.
    var plannedOps: [String] {
        stepsPlanned.ops.map { op in
            let kind =
                switch op.op {
                case .run: "run"
                case .sleep: "sleep"
                case .waitForEvent: "waitForEvent"
                case .sendEvent: "sendEvent"
                case .invoke: "invoke"
                case nil: "none"
                }
            return "\(op.stepID):\(kind)"
        }
    }

    /// The outcome's case name, for readable failures.
    var kind: String {
        switch outcome {
        case .stepCompleted: "stepCompleted"
        case .runCompleted: "runCompleted"
        case .stepFailed: "stepFailed"
        case .stepsPlanned: "stepsPlanned"
        case nil: "none"
        }
    }
}

extension Data {
    var string: String { String(decoding: self, as: UTF8.self) }
}

/// Whether validating `functions` for app "shop" fails with `invalid_config` for function "f",
/// with a message containing `fragment`: how the worker refuses a bad configuration at start.
func rejectsAtWorkerStart(_ functions: [TetherFunction], containing fragment: String) -> Bool {
    do {
        try TetherFunction.validate(functions, app: "shop")
        return false
    } catch {
        return error.code == .invalidConfig && error.message.hasPrefix("Function \"f\": ") && error.message.contains(fragment)
    }
}
