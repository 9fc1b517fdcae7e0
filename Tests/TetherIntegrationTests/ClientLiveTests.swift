import Foundation
import Testing
import Tether
import TetherClient
import TetherEngine

/// The typed client against a live coordinator with an API key and a real worker.
@Suite("TetherClient, live: typed calls and their errors", .serialized)
struct ClientLiveTests {
    static let key = "client-test-key"

    @Test("send, wait, read, list, cancel, status, functions, workers; every error answer is a TetherError with its code")
    func typedCalls() async throws {
        let coordinator = try await TestCoordinator { $0.apiKeys = [Self.key] }
        let client = try TetherClient(url: coordinator.httpURL, apiKey: Self.key, timeout: .seconds(10))
        let ledger = StepLedger()
        let worker = TestWorker(
            functions: [orderFunction(worker: "w", ledger: ledger)],
            options: coordinator.workerOptions(instanceId: "w", capacity: 2))
        #expect(try await eventually { try await client.functions().count == 1 })

        // Exact integers go through the generated encoding both ways.
        let big: JSONValue = ["orderId": "o-1", "amount": 7, "big": .int(9_007_199_254_740_993)]
        let (eventId, runIds) = try await client.send("order/created", data: big, id: "client-e1")
        #expect(eventId == "client-e1")
        #expect(runIds.count == 1)
        let run = try await client.waitForRun(runIds[0], timeout: .seconds(30))
        #expect(run.status == .completed)
        #expect(run.event.value?.data["big"] == .int(9_007_199_254_740_993))
        #expect(run.steps.map(\.id) == ["reserve-stock", "charge", "send-receipt"])
        #expect(run.steps.allSatisfy { $0.status == .completed && $0.worker.value == "w" })
        #expect(run.endedAt.value != nil && run.error.value == nil)

        let page = try await client.runs(function: "shop:process-order", status: .completed, limit: 5)
        #expect(page.runs.map(\.id) == runIds)
        #expect(page.next.value == nil)
        let status = try await client.status()
        #expect(status.workers.map(\.instanceId) == ["w"])
        #expect(status.capacity.total == 2)
        #expect(try await client.workers().workers.first?.functions == ["shop:process-order"])

        // Errors: each with the API's code.
        func code(_ body: () async throws -> Void) async -> ErrorCode? {
            do {
                try await body()
                return nil
            } catch let error as TetherError {
                return error.code
            } catch {
                Issue.record("not a TetherError: \(error)")
                return nil
            }
        }
        #expect(await code { _ = try await client.cancel(runIds[0]) } == .conflict)
        #expect(await code { _ = try await client.run("01UNKNOWNRUN") } == .notFound)
        #expect(await code { _ = try await client.runs(cursor: "garbage") } == .invalidInput)
        #expect(await code { _ = try await client.send("has space") } == .invalidInput)
        #expect(await code { _ = try await client.waitForRun(runIds[0], timeout: .seconds(1)) } == nil)
        let stranger = try TetherClient(url: coordinator.httpURL, apiKey: "wrong")
        #expect(await code { _ = try await stranger.status() } == .unauthenticated)
        let nobody = try TetherClient(url: "http://127.0.0.1:1", timeout: .seconds(2))
        #expect(await code { _ = try await nobody.status() } == .unavailable)
        #expect(throws: TetherError.self) { try TetherClient(url: "ftp://example.com") }
        #expect(throws: TetherError.self) {
            try TetherClient(url: "https://example.com", caCertificateFile: "/nonexistent/ca.pem")
        }

        // A run that does not end in time: `timeout`.
        let (_, sleeper) = try await client.send("nothing/listens")
        #expect(sleeper.isEmpty)
        await worker.shutdown()
        let (_, queued) = try await client.send("order/created", data: ["orderId": "o-2", "amount": 1])
        #expect(await code { _ = try await client.waitForRun(queued[0], timeout: .milliseconds(300)) } == .timeout)
        let cancelled = try await client.cancel(queued[0])
        #expect(cancelled.status == .cancelled)

        let drained = try await client.drain(reconnectWithinMilliseconds: 200)
        #expect(drained.reconnectWithinMs == 200)
        await coordinator.shutdown()
    }
}
