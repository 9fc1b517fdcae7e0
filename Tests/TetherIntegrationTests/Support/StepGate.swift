import Synchronization
import TetherEngine

@testable import Tether

/// A function `gated` whose one step, `hold`, runs until the test opens its gate: a step that
/// is surely running when PostgreSQL stops, and ends while it is down.
final class StepGate: Sendable {
    private struct State {
        var running = 0
        var open: Set<Int> = []
    }

    private let state = Mutex(State())

    /// Step bodies started so far.
    var running: Int { state.withLock { $0.running } }

    /// Lets the step of the run started with `i` finish.
    func open(_ i: Int) { _ = state.withLock { $0.open.insert(i) } }

    func function(counter: ExecutionCounter) -> TetherFunction {
        TetherFunction("gated", trigger: .event("gate/start")) { (ctx: Context<MixInput>) -> Int in
            let i = ctx.event.data.i
            return try await ctx.step.run("hold") { () -> Int in
                counter.record("gate-\(i)")
                self.state.withLock { $0.running += 1 }
                while !self.state.withLock({ $0.open.contains(i) }) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                return i
            }
        }
    }
}

extension TestWorker {
    /// Runs whose step result this worker holds, not yet acknowledged by a coordinator.
    var heldResults: Set<String> {
        worker.state.withLock { state in Set(state.unacknowledged.values.map(\.stepResult.runID)) }
    }
}
