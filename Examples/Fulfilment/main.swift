// The durable primitives in one worker: parallel steps, a durable sleep, waiting for an event,
// sending events, invoking another function, cancelOn and onFailure.
//
// Start `tether dev`, export the env it prints, then `swift run tether-example-fulfilment`.
//   curl -X POST localhost:7420/v1/events -d '{"name":"shipment/requested","data":{"orderId":"o-1","weightKg":3}}'
//   curl -X POST localhost:7420/v1/events -d '{"name":"shipment/approved","data":{"orderId":"o-1","by":"ann"}}'
import Foundation
import Tether

struct Shipment: Codable, Sendable {
    var orderId: String
    var weightKg: Int
}

struct Approval: Codable, Sendable {
    var orderId: String
    var by: String
}

/// Waits `TETHER_EXAMPLE_STEP_MS` milliseconds (default 0) in `print-label` and `book-pickup`, so
/// their overlap shows on the dashboard's run timeline (`scripts/dashboard-screenshot.sh`).
func work() async throws {
    let milliseconds = Int(ProcessInfo.processInfo.environment["TETHER_EXAMPLE_STEP_MS"] ?? "") ?? 0
    if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
}

/// Prices a parcel; invoked by `fulfil` as a child run.
let quote = TetherFunction("quote", trigger: .event("shipment/quote")) { (ctx: Context<Shipment>) -> Int in
    try await ctx.step.run("price") { 500 + ctx.event.data.weightKg * 120 }
}

let fulfil = TetherFunction(
    "fulfil", name: "Fulfil a shipment", trigger: .event("shipment/requested"),
    cancelOn: [CancelOn(event: "shipment/cancelled", if: "async.data.orderId == event.data.orderId")],
    timeouts: Timeouts(finish: .seconds(7 * 86_400)),
    onFailure: { (ctx: FailureContext<Shipment>) in
        try await ctx.step.run("alert") {
            ctx.logger.error(
                "shipment failed", metadata: ["order": "\(ctx.event.data.orderId)", "error": "\(ctx.error)"])
        }
    }
) { (ctx: Context<Shipment>) -> String in
    let shipment = ctx.event.data
    // Two checks at once, dispatched to different workers when capacity allows.
    async let label: String = ctx.step.run("print-label") {
        try await work()
        return "label-\(shipment.orderId)"
    }
    async let slot: String = ctx.step.run("book-pickup") {
        try await work()
        return "pickup-\(shipment.orderId)"
    }
    let (labelId, pickupId) = try await (label, slot)

    let price: Int = try await ctx.step.invoke("quote", function: quote, data: shipment)

    // Heavy parcels need a human: wait up to a day for the approval event.
    if shipment.weightKg > 2 {
        let approval: Event<Approval>? = try await ctx.step.waitForEvent(
            "approval", event: "shipment/approved", match: "async.data.orderId == event.data.orderId",
            timeout: .seconds(86_400))
        guard let approval else { throw NonRetriableError("nobody approved shipment \(shipment.orderId)") }
        ctx.logger.info("approved", metadata: ["by": "\(approval.data.by)"])
    }

    // Let the carrier's system catch up before announcing it (a durable timer: no worker slot held).
    try await ctx.step.sleep("carrier-delay", for: .seconds(2))
    try await ctx.step.sendEvent(
        "announce", OutgoingEvent(name: "shipment/dispatched", data: ["orderId": shipment.orderId, "label": labelId]))
    return "\(labelId) \(pickupId) \(price) cents"
}

let worker = Worker(app: "logistics", functions: [fulfil, quote])
do {
    try await worker.runUntilSignalled()
} catch {
    FileHandle.standardError.write(Data("tether-example-fulfilment: \(error)\n".utf8))
    exit(1)
}
