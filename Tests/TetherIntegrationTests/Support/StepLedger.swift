import Synchronization
import Tether

/// Records every step closure execution of the test order function, per worker: how often
/// each (order, step) ran, how many steps each worker ran, and the most it ran at once.
final class StepLedger: Sendable {
    struct Entry: Hashable, Sendable {
        var orderId: String
        var step: String
    }

    private struct State {
        var executions: [Entry: Int] = [:]
        var runIds: [String: String] = [:]
        var perWorker: [String: Int] = [:]
        var running: [String: Int] = [:]
        var maxRunning: [String: Int] = [:]
        var started = 0
    }

    private let state = Mutex(State())

    func begin(worker: String, entry: Entry, runId: String) {
        state.withLock { state in
            state.running[worker, default: 0] += 1
            state.started += 1
            state.maxRunning[worker] = max(state.maxRunning[worker] ?? 0, state.running[worker]!)
            state.runIds[entry.orderId] = runId
        }
    }

    func end(worker: String, entry: Entry) {
        state.withLock { state in
            state.running[worker, default: 0] -= 1
            state.executions[entry, default: 0] += 1
            state.perWorker[worker, default: 0] += 1
        }
    }

    var executions: [Entry: Int] { state.withLock { $0.executions } }
    var perWorker: [String: Int] { state.withLock { $0.perWorker } }
    var maxRunning: [String: Int] { state.withLock { $0.maxRunning } }
    var totalExecutions: Int { state.withLock { $0.executions.values.reduce(0, +) } }
    /// Step bodies started, finished or not.
    var totalStarted: Int { state.withLock { $0.started } }
    var runIdByOrder: [String: String] { state.withLock { $0.runIds } }
}

struct TestOrder: Codable, Sendable {
    var orderId: String
    var amount: Int
}

struct TestReceipt: Codable, Sendable, Equatable {
    var orderId: String
    var reservation: String
    var charge: String
    var total: Int
}

/// The 3-step order function the live tests run, recording into `ledger` as `worker`.
func orderFunction(worker: String, ledger: StepLedger, stepDelay: Duration = .milliseconds(2)) -> TetherFunction {
    TetherFunction("process-order", trigger: .event("order/created")) { (ctx: Context<TestOrder>) -> TestReceipt in
        let order = ctx.event.data
        func step<T: Codable & Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async throws -> T {
            try await ctx.step.run(name) {
                let entry = StepLedger.Entry(orderId: order.orderId, step: name)
                ledger.begin(worker: worker, entry: entry, runId: ctx.runId)
                try? await Task.sleep(for: stepDelay)
                ledger.end(worker: worker, entry: entry)
                return body()
            }
        }
        let reservation = try await step("reserve-stock") { "rsv-\(order.orderId)" }
        let charge = try await step("charge") { "ch-\(order.orderId)-\(order.amount)" }
        let total = try await step("send-receipt") { order.amount * 2 }
        return TestReceipt(orderId: order.orderId, reservation: reservation, charge: charge, total: total)
    }
}

extension TestReceipt {
    static func expected(for order: TestOrder) -> TestReceipt {
        TestReceipt(
            orderId: order.orderId, reservation: "rsv-\(order.orderId)", charge: "ch-\(order.orderId)-\(order.amount)",
            total: order.amount * 2)
    }
}
