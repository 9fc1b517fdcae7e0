import Foundation
import Testing

/// Seeded simulations of the scheduler and the store under faults (see ``Simulation``).
///
/// CI runs the fixed seeds below. `scripts/simulate.sh --seeds N [--from S]` runs N more
/// (`TETHER_SIM_SEEDS`, `TETHER_SIM_FROM`). A failing seed reproduces exactly: add it to
/// `regressions` with a note on what it found.
@Suite("Simulation")
struct SimulationTests {
    /// Seeds that once found a bug, kept as regression tests.
    static let regressions: [UInt64] = []

    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let count = environment["TETHER_SIM_SEEDS"].flatMap(UInt64.init) {
            let from = environment["TETHER_SIM_FROM"].flatMap(UInt64.init) ?? 1_000
            return Array(from..<(from + count))
        }
        return Array(1...24) + regressions
    }

    @Test("every seed: invariants hold, capacity is never exceeded, no step body runs twice while it could deliver, every run ends as scripted")
    func seeds() throws {
        var totals = Simulation.Report(seed: 0, violations: [])
        var failed: [UInt64] = []
        for seed in Self.seeds {
            let report = try Simulation(seed: seed).run()
            totals.commands += report.commands
            totals.invariantChecks += report.invariantChecks
            totals.bodies += report.bodies
            totals.runsCompleted += report.runsCompleted
            totals.runsCancelled += report.runsCancelled
            for (kind, count) in report.faults { totals.faults[kind, default: 0] += count }
            if !report.violations.isEmpty {
                failed.append(seed)
                let trace = report.traceAtFirstViolation.joined(separator: "\n    ")
                Issue.record(
                    "seed \(seed): \(report.violations.prefix(5).joined(separator: "\n  "))\n  last actions before the first:\n    \(trace)")
            }
        }
        print(
            "simulation: \(Self.seeds.count) seeds, \(totals.commands) commands, \(totals.invariantChecks) invariant checks, "
                + "\(totals.bodies) step bodies, \(totals.runsCompleted) runs completed, \(totals.runsCancelled) cancelled, "
                + "faults \(totals.faults.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")); "
                + "failing seeds: \(failed)")
    }
}
