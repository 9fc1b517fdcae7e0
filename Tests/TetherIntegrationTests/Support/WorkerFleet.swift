import Foundation
import Tether
import TetherClient
import TetherEngine

/// Many SDK workers in this process (one connection each), for tests of what the coordinator
/// sees with a thousand or more workers.
final class WorkerFleet: Sendable {
    let workers: [TestWorker]

    /// Starts `count` workers of one trivial function, all at the same instant.
    init(count: Int, prefix: String, options: (String) throws -> WorkerOptions) rethrows {
        let noop = TetherFunction("fleet-noop", trigger: .event("fleet/noop")) { (_: Context<JSONValue>) -> Int in 0 }
        workers = try (0..<count).map { index in
            var workerOptions = try options("\(prefix)-\(index)")
            workerOptions.maxConcurrency = 1
            workerOptions.shutdownGracePeriod = .seconds(1)
            return TestWorker(app: "fleet", functions: [noop], options: workerOptions)
        }
    }

    func shutdown() async {
        await withTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { await worker.shutdown() } }
        }
    }
}

/// Polls `/v1/status` until `count` workers are connected; returns how long it took, or nil.
func waitForWorkers(
    _ count: Int, client: TetherClient, timeout: Duration, every interval: Duration = .milliseconds(250)
) async -> Duration? {
    let start = ContinuousClock.now
    let deadline = start.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if let status = try? await client.request(.GET, "/v1/status").json,
            status["workers"]?.arrayValue?.count == count
        {
            return ContinuousClock.now - start
        }
        try? await Task.sleep(for: interval)
    }
    return nil
}
