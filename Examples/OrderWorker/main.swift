// The example worker: an order pipeline of three durable steps.
//
// Start `tether dev`, export the env it prints, then `swift run tether-example`.
// Send an order with:
//   curl -X POST localhost:7420/v1/events -d '{"name":"order/created","data":{"orderId":"o-1","amount":4200}}'
import Foundation
import Tether

struct OrderCreated: Codable, Sendable {
    var orderId: String
    var amount: Int
    var customer: String?
}

struct Reservation: Codable, Sendable {
    var reservationId: String
    var items: Int
}

struct Receipt: Codable, Sendable {
    var orderId: String
    var reservationId: String
    var chargeId: String
    var amount: Int
    var emailed: Bool
}

/// Waits `TETHER_EXAMPLE_CHARGE_MS` milliseconds (default 0): a slow payment provider, to make load
/// visible on the dashboard (`scripts/dashboard-screenshot.sh`).
func slowCharge() async throws {
    let milliseconds = Int(ProcessInfo.processInfo.environment["TETHER_EXAMPLE_CHARGE_MS"] ?? "") ?? 0
    if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
}

let processOrder = TetherFunction("process-order", name: "Process an order", trigger: .event("order/created")) {
    (ctx: Context<OrderCreated>) -> Receipt in
    let order = ctx.event.data
    let reservation = try await ctx.step.run("reserve-stock") {
        Reservation(reservationId: "rsv_\(order.orderId)", items: max(1, order.amount / 1_000))
    }
    let chargeId: String = try await ctx.step.run("charge") {
        guard order.amount > 0 else { throw NonRetriableError("amount must be positive, got \(order.amount)") }
        try await slowCharge()
        return "ch_\(order.orderId)_\(order.amount)"
    }
    let emailed = try await ctx.step.run("send-receipt") {
        ctx.logger.info(
            "receipt sent", metadata: ["order": "\(order.orderId)", "to": "\(order.customer ?? "customer")"])
        return true
    }
    return Receipt(
        orderId: order.orderId, reservationId: reservation.reservationId, chargeId: chargeId, amount: order.amount,
        emailed: emailed)
}

let worker = Worker(app: "shop", functions: [processOrder])
do {
    try await worker.runUntilSignalled()
} catch {
    // A wrong signing key, an invalid function or a missing TETHER_* setting: no retry can fix it.
    FileHandle.standardError.write(Data("tether-example: \(error)\n".utf8))
    exit(1)
}
