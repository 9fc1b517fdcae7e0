import Foundation
import TetherEngine
import TetherStore

/// A deterministic simulation of one coordinator and its workers, driven by a seed.
///
/// It drives the real scheduler (`CoordinatorCore`) and the real store (RocksDB in a temporary
/// directory, reloaded with `loadState()` after every coordinator crash) with simulated workers
/// that connect, run step bodies, die, freeze, lose their connection and come back, and with
/// events, signals, cancels, duplicate and forged results, clock jumps and coordinator crashes.
/// Time is simulated; the same seed replays the same history exactly.
///
/// It checks, as it goes: the scheduler's invariants after every command, that no worker runs
/// more step bodies than its capacity, that no step body starts again while an earlier run of
/// it could still deliver (its worker alive and not cut off past its lease), and that no forged
/// result is accepted. At the end, after the faults stop: every run ended as it would have
/// without faults (the script's output; cancelled only if a cancel was sent).
final class Simulation {
    struct Settings {
        var workers = 4
        var runs = 40
        /// Faults happen during this much simulated time; then the system heals.
        var faultMilliseconds: Int64 = 40_000
        var meanFaultGapMilliseconds: Int64 = 1_500
    }

    struct Report {
        var seed: UInt64
        var violations: [String]
        var commands = 0
        var invariantChecks = 0
        var bodies = 0
        var faults: [String: Int] = [:]
        var runsCompleted = 0
        var runsCancelled = 0
        var trace: [String] = []
        /// The last actions before the first violation.
        var traceAtFirstViolation: [String] = []
    }

    enum WorkerMessage {
        case result(requestId: String, runId: String, outcome: StepOutcome)
        case heartbeat([String])
    }

    enum Action {
        case ingest(n: Int)
        case signal(n: Int)
        case cancel(n: Int)
        case tick
        case heartbeat(worker: Int, process: Int)
        case toCoordinator(connection: String, WorkerMessage)
        case toWorker(worker: Int, connection: String, OutboundMessage)
        case bodyDone(worker: Int, process: Int, requestId: String)
        case connect(worker: Int, process: Int)
        case restartWorker(worker: Int)
        case unfreeze(worker: Int)
        case restartCoordinator
        /// The store caught up after a stall: dispatch goes on.
        case releaseDispatch
        case fault
        case heal
    }

    struct Scheduled {
        var time: Int64
        var sequence: Int
        var action: Action
    }

    struct Body {
        var runId: String
        var stepId: String
        var outcome: StepOutcome
        var execution: Int
    }

    struct Held {
        var requestId: String
        var runId: String
        var outcome: StepOutcome
        var execution: Int?
    }

    struct Worker {
        var instanceId: String
        var capacity: Int
        var process = 0
        var alive = true
        var frozenUntil: Int64 = 0
        var frozenSince: Int64 = 0
        var connection: String?
        /// When the worker last lost its connection (while it has none).
        var disconnectedSince: Int64 = 0
        var running: [String: Body] = [:]
        var held: [Held] = []
    }

    struct Execution {
        var key: String
        var worker: Int
        var process: Int
        /// Its worker died, was cut off past its lease, or the body threw: running it again is allowed.
        var excused = false
    }

    let seed: UInt64
    let settings: Settings
    private var random: SimRandom
    private let directory: String
    private var store: CoordinatorStore?
    private var core: CoordinatorCore?
    private var coordinatorGeneration: UInt64 = 0
    private var clockOffset: Int64 = 0
    private var now: Int64 = 1_800_000_000_000
    private var queue: [Scheduled] = []
    private var sequence = 0
    private var workers: [Worker] = []
    /// Live connections at the coordinator: connection id → worker index.
    private var connections: [String: Int] = [:]
    private var connectionCount = 0
    private var lastDelivery: [String: Int64] = [:]
    private var executions: [Execution] = []
    private var executionsByKey: [String: [Int]] = [:]
    private var runIdOf: [Int: String] = [:]
    private var scriptOf: [Int: Int] = [:]
    private var cancelled: Set<Int> = []
    private var healed = false
    private var forged = 0
    /// Clock jumps of the coordinator: (when, how far).
    private var jumps: [(at: Int64, milliseconds: Int64)] = []
    private(set) var report: Report

    init(seed: UInt64, settings: Settings = Settings()) throws {
        self.seed = seed
        self.settings = settings
        random = SimRandom(seed: seed)
        report = Report(seed: seed, violations: [])
        directory = NSTemporaryDirectory() + "tether-sim-\(seed)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for index in 0..<settings.workers {
            workers.append(Worker(instanceId: "w\(index)", capacity: random.int(1...3)))
        }
    }

    deinit {
        store?.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Running

    /// Runs the whole history and returns what it found.
    func run() throws -> Report {
        try startCoordinator()
        for index in workers.indices { schedule(.connect(worker: index, process: 0), in: random.ms(0...200)) }
        var at: Int64 = 100
        for n in 0..<settings.runs {
            at += random.ms(0...(settings.faultMilliseconds / Int64(settings.runs)))
            schedule(.ingest(n: n), in: at)
        }
        schedule(.tick, in: 250)
        schedule(.fault, in: random.ms(200...settings.meanFaultGapMilliseconds * 2))
        schedule(.heal, in: settings.faultMilliseconds)
        let deadline = now + settings.faultMilliseconds + 20 * 60_000
        while let next = popNext() {
            now = next.time
            if now > deadline { break }
            try handle(next.action)
            if healed && allRunsEnded() { break }
            if report.violations.count > 20 { break }
        }
        try finalChecks()
        return report
    }

    private func schedule(_ action: Action, in delay: Int64) {
        sequence += 1
        let item = Scheduled(time: now + max(0, delay), sequence: sequence, action: action)
        // Keep the queue sorted by (time, sequence): insert after every earlier-or-equal item.
        var low = 0
        var high = queue.count
        while low < high {
            let mid = (low + high) / 2
            if (queue[mid].time, queue[mid].sequence) < (item.time, item.sequence) { low = mid + 1 } else { high = mid }
        }
        queue.insert(item, at: low)
    }

    private func popNext() -> Scheduled? {
        queue.isEmpty ? nil : queue.removeFirst()
    }

    private var coordinatorNow: Int64 { now + clockOffset }

    private func trace(_ line: String) {
        report.trace.append("\(now - 1_800_000_000_000) \(line)")
        if report.trace.count > 200 { report.trace.removeFirst(report.trace.count - 200) }
    }

    private func violation(_ message: String) {
        if report.violations.isEmpty { report.traceAtFirstViolation = Array(report.trace.suffix(60)) }
        report.violations.append("t=\(now - 1_800_000_000_000) \(message)")
    }

    // MARK: Coordinator

    private func startCoordinator() throws {
        let store = try CoordinatorStore(directory: directory + "/db", durability: .relaxed)
        self.store = store
        coordinatorGeneration += 1
        var core = CoordinatorCore(seed: seed &+ coordinatorGeneration &* 0x1000_0000_0001)
        let cleanup = core.restore(try store.loadState(), now: coordinatorNow)
        self.core = core
        trace("coordinator started (generation \(coordinatorGeneration))")
        perform(cleanup)
    }

    private func crashCoordinator() {
        trace("coordinator crashed")
        core = nil
        store?.close()
        store = nil
        for (connection, index) in connections.sorted(by: { $0.key < $1.key }) {
            lostConnection(worker: index, connection: connection)
        }
        connections.removeAll()
    }

    /// Applies one command to the core (its one entry point), checks every invariant and carries
    /// out the effects. Returns them, or nil while the coordinator is down.
    @discardableResult
    private func command(_ command: Command) -> Effects? {
        guard var core else { return nil }
        let effects = core.apply(command, now: coordinatorNow)
        self.core = core
        report.commands += 1
        check(core)
        perform(effects)
        return effects
    }

    private func check(_ core: CoordinatorCore) {
        report.invariantChecks += 1
        for problem in core.invariantViolations() { violation("invariant: \(problem)") }
    }

    /// Writes first (synchronously, to the real store), then messages and closes.
    private func perform(_ effects: Effects) {
        if !effects.writes.isEmpty, let store {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var failure: StoreError?
            store.commit(effects.writes) { result in
                if case .failure(let error) = result { failure = error }
                done.signal()
            }
            done.wait()
            if let failure { violation("store commit failed: \(failure)") }
        }
        for message in effects.messages {
            guard let index = connections[message.connectionId] else { continue }
            send(.toWorker(worker: index, connection: message.connectionId, message), on: message.connectionId)
        }
        for close in effects.closes {
            guard let index = connections.removeValue(forKey: close.connectionId) else { continue }
            trace("coordinator closed \(close.connectionId) of w\(index): \(close.code.rawValue)")
            // The coordinator only closes silent connections: the worker was cut off.
            excuseRunning(worker: index)
            lostConnection(worker: index, connection: close.connectionId)
        }
    }

    /// Schedules a message on a connection: a small latency, in order per connection.
    private func send(_ action: Action, on connection: String) {
        let at = max(now + random.ms(0...3), lastDelivery[connection] ?? 0)
        lastDelivery[connection] = at
        schedule(action, in: at - now)
    }

    // MARK: Actions

    private func handle(_ action: Action) throws {
        switch action {
        case .ingest(let n):
            let script = random.int(0...(SimScript.scripts.count - 1))
            scriptOf[n] = script
            let event = IncomingEvent(name: SimScript.startEvent, data: Array(#"{"n":\#(n),"s":\#(script)}"#.utf8))
            var receipts: [EventReceipt] = []
            if case .receipts(let got) = command(.ingest([event], known: [:]))?.reply { receipts = got }
            if core == nil {
                schedule(.ingest(n: n), in: 500)  // the sender retries while the coordinator is down
                return
            }
            guard let runId = receipts.first?.runIds.first else {
                // No worker has registered the function yet: the sender tries again later.
                return schedule(.ingest(n: n), in: 500)
            }
            runIdOf[n] = runId
            trace("event \(n) (script \(script)) → run \(runIdOf[n] ?? "?")")
            if case .wait = SimScript.scripts[script].dropFirst().first {
                schedule(.signal(n: n), in: random.ms(200...8_000))
            }
            if random.chance(0.05) { schedule(.cancel(n: n), in: random.ms(0...3_000)) }
        case .signal(let n):
            guard core != nil else { return schedule(.signal(n: n), in: 500) }
            command(.ingest([IncomingEvent(name: SimScript.signalEvent, data: Array(#"{"n":\#(n)}"#.utf8))], known: [:]))
        case .cancel(let n):
            guard core != nil, let runId = runIdOf[n] else { return }
            cancelled.insert(n)
            trace("cancel run \(runId)")
            command(.cancel(runId: runId))
        case .tick:
            command(.tick)
            schedule(.tick, in: 250)
        case .heartbeat(let index, let process):
            let worker = workers[index]
            guard worker.alive, worker.process == process, let connection = worker.connection else { return }
            if worker.frozenUntil <= now {
                send(.toCoordinator(connection: connection, .heartbeat(worker.running.keys.sorted())), on: connection)
            }
            schedule(.heartbeat(worker: index, process: process), in: random.ms(4_000...6_000))
        case .toCoordinator(let connection, let message):
            guard core != nil, let index = connections[connection] else { return }
            switch message {
            case .heartbeat(let requestIds):
                command(.heartbeat(connectionId: connection, inFlight: requestIds))
            case .result(let requestId, let runId, let outcome):
                let effects = command(.result(connectionId: connection, requestId: requestId, runId: runId, outcome: outcome))
                let accepted =
                    effects?.messages.contains(.resultAck(connectionId: connection, requestId: requestId, accepted: true)) ?? false
                if requestId.hasPrefix("forged-") && accepted {
                    violation("a forged result \(requestId) from w\(index) for run \(runId) was accepted")
                }
            }
        case .toWorker(let index, let connection, let message):
            guard workers[index].alive, workers[index].connection == connection else { return }
            if workers[index].frozenUntil > now {
                return schedule(action, in: workers[index].frozenUntil - now)
            }
            switch message {
            case .dispatch(let dispatch):
                receive(dispatch, worker: index)
            case .resultAck(_, let requestId, _):
                workers[index].held.removeAll { $0.requestId == requestId }
            }
        case .bodyDone(let index, let process, let requestId):
            guard workers[index].alive, workers[index].process == process,
                let body = workers[index].running[requestId]
            else { return }
            if workers[index].frozenUntil > now {
                return schedule(action, in: workers[index].frozenUntil - now)
            }
            workers[index].running[requestId] = nil
            if case .stepFailed = body.outcome { executions[body.execution].excused = true }
            held(Held(requestId: requestId, runId: body.runId, outcome: body.outcome, execution: body.execution), worker: index)
        case .connect(let index, let process):
            connect(worker: index, process: process)
        case .restartWorker(let index):
            workers[index].alive = true
            workers[index].frozenUntil = 0
            trace("w\(index) restarted (process \(workers[index].process))")
            connect(worker: index, process: workers[index].process)
        case .unfreeze(let index):
            let frozen = now - workers[index].frozenSince
            // Frozen for most of a lease: the coordinator may rightly give its steps to others.
            if frozen >= 10_000 { excuseRunning(worker: index) }
            trace("w\(index) unfrozen after \(frozen) ms")
        case .restartCoordinator:
            if core == nil { try startCoordinator() }
        case .releaseDispatch:
            trace("store caught up: dispatch resumed")
            command(.holdDispatch(false))
        case .fault:
            guard !healed else { return }
            fault()
            schedule(.fault, in: random.ms(100...settings.meanFaultGapMilliseconds * 2))
        case .heal:
            healed = true
            trace("healing: no more faults")
            for index in workers.indices where !workers[index].alive { schedule(.restartWorker(worker: index), in: 0) }
            for index in workers.indices where workers[index].frozenUntil > now {
                workers[index].frozenUntil = now
                schedule(.unfreeze(worker: index), in: 0)
            }
            if core == nil { schedule(.restartCoordinator, in: 0) }
            for n in runIdOf.keys.sorted() { schedule(.signal(n: n), in: random.ms(0...1_000)) }
        }
    }

    private func connect(worker index: Int, process: Int) {
        guard workers[index].alive, workers[index].process == process, workers[index].connection == nil else { return }
        guard core != nil else {
            // The coordinator is down: try again with backoff.
            return schedule(.connect(worker: index, process: process), in: random.ms(100...800))
        }
        if workers[index].frozenUntil > now {
            return schedule(.connect(worker: index, process: process), in: workers[index].frozenUntil - now)
        }
        connectionCount += 1
        let connection = "c\(connectionCount)"
        let worker = workers[index]
        let resumed =
            worker.running.sorted { $0.key < $1.key }.map { ResumedRequest(requestId: $0.key, runId: $0.value.runId, resultHeld: false) }
            + worker.held.map { ResumedRequest(requestId: $0.requestId, runId: $0.runId, resultHeld: true) }
        let registration = WorkerRegistration(
            connectionId: connection, instanceId: worker.instanceId, app: SimScript.app, capacity: worker.capacity,
            functions: [SimScript.main, SimScript.child], resumed: resumed)
        connections[connection] = index
        workers[index].connection = connection
        workers[index].disconnectedSince = 0
        trace("w\(index) connected as \(connection), resuming \(resumed.count)")
        if case .rejected(let error) = command(.register(registration))?.reply {
            violation("registration of w\(index) failed: \(error)")
        }
        // Welcome: the held results go first, then heartbeats.
        for held in workers[index].held {
            send(.toCoordinator(connection: connection, .result(requestId: held.requestId, runId: held.runId, outcome: held.outcome)), on: connection)
        }
        schedule(.heartbeat(worker: index, process: process), in: random.ms(0...5_000))
    }

    /// A connection is gone for the worker: it reconnects after a short backoff.
    private func lostConnection(worker index: Int, connection: String) {
        guard workers[index].connection == connection else { return }
        workers[index].connection = nil
        workers[index].disconnectedSince = now
        schedule(.connect(worker: index, process: workers[index].process), in: random.ms(50...1_500))
    }

    private func receive(_ dispatch: StepDispatch, worker index: Int) {
        let requestId = dispatch.requestId
        guard workers[index].running[requestId] == nil, !workers[index].held.contains(where: { $0.requestId == requestId }) else {
            return
        }
        switch SimScript.respond(to: dispatch) {
        case .immediate(let outcome):
            held(Held(requestId: requestId, runId: dispatch.run.id, outcome: outcome, execution: nil), worker: index)
        case .body(let stepId, let outcome):
            let worker = workers[index]
            if worker.running.count >= worker.capacity {
                violation("w\(index) (capacity \(worker.capacity)) was sent a step with \(worker.running.count) bodies running")
            }
            let key = dispatch.run.id + "/" + stepId
            for earlier in executionsByKey[key] ?? [] where !executions[earlier].excused && !isCutOff(executions[earlier].worker) {
                let first = executions[earlier]
                violation(
                    "step \(key) started on w\(index) while its earlier run on w\(first.worker) (process \(first.process)) could still deliver")
            }
            executions.append(Execution(key: key, worker: index, process: worker.process))
            executionsByKey[key, default: []].append(executions.count - 1)
            report.bodies += 1
            workers[index].running[requestId] = Body(
                runId: dispatch.run.id, stepId: stepId, outcome: outcome, execution: executions.count - 1)
            schedule(.bodyDone(worker: index, process: worker.process, requestId: requestId), in: random.ms(5...400))
        }
    }

    /// A result the worker keeps until acknowledged; sent now if connected.
    private func held(_ held: Held, worker index: Int) {
        workers[index].held.append(held)
        if let connection = workers[index].connection {
            send(.toCoordinator(connection: connection, .result(requestId: held.requestId, runId: held.runId, outcome: held.outcome)), on: connection)
        }
    }

    /// The worker's bodies and unacknowledged results may now legitimately run again elsewhere.
    private func excuseRunning(worker index: Int) {
        for body in workers[index].running.values { executions[body.execution].excused = true }
        for held in workers[index].held { if let execution = held.execution { executions[execution].excused = true } }
    }

    /// Whether a worker has been frozen or without a connection for most of a lease, as the
    /// coordinator's clock sees it: its steps may rightly go to others.
    private func isCutOff(_ index: Int) -> Bool {
        let worker = workers[index]
        var since: Int64?
        if worker.frozenUntil > now { since = worker.frozenSince }
        if worker.connection == nil, worker.disconnectedSince > 0 { since = min(since ?? .max, worker.disconnectedSince) }
        guard let since else { return false }
        let jumped = jumps.filter { $0.at >= since }.reduce(0) { $0 + $1.milliseconds }
        return now - since + jumped >= 10_000
    }

    // MARK: Faults

    private func fault() {
        let index = random.int(0...(workers.count - 1))
        let kinds = ["killWorker", "breakConnection", "freezeWorker", "crashCoordinator", "duplicateResult", "forgedResult", "clockJump", "storeBehind",
        ]
        let kind = kinds[random.int(0...(kinds.count - 1))]
        report.faults[kind, default: 0] += 1
        switch kind {
        case "killWorker":
            guard workers[index].alive else { return }
            trace("w\(index) killed")
            excuseRunning(worker: index)
            workers[index].alive = false
            workers[index].process += 1
            workers[index].running.removeAll()
            workers[index].held.removeAll()
            if let connection = workers[index].connection {
                workers[index].connection = nil
                workers[index].disconnectedSince = now
                if connections.removeValue(forKey: connection) != nil {
                    command(.disconnect(connectionId: connection))
                }
            }
            schedule(.restartWorker(worker: index), in: random.ms(300...3_000))
        case "breakConnection":
            guard let connection = workers[index].connection else { return }
            trace("w\(index): connection \(connection) broke")
            if connections.removeValue(forKey: connection) != nil {
                command(.disconnect(connectionId: connection))
            }
            lostConnection(worker: index, connection: connection)
        case "freezeWorker":
            guard workers[index].alive, workers[index].frozenUntil <= now else { return }
            let duration = random.ms(500...20_000)
            trace("w\(index) frozen for \(duration) ms")
            workers[index].frozenSince = now
            workers[index].frozenUntil = now + duration
            schedule(.unfreeze(worker: index), in: duration)
        case "crashCoordinator":
            guard core != nil else { return }
            crashCoordinator()
            schedule(.restartCoordinator, in: random.ms(0...2_000))
        case "duplicateResult":
            guard let connection = workers[index].connection, let held = workers[index].held.first else { return }
            send(.toCoordinator(connection: connection, .result(requestId: held.requestId, runId: held.runId, outcome: held.outcome)), on: connection)
        case "forgedResult":
            guard let connection = workers[index].connection, let runId = runIdOf.values.sorted().randomElement(using: &random)
            else { return }
            forged += 1
            send(
                .toCoordinator(
                    connection: connection,
                    .result(requestId: "forged-\(forged)", runId: runId, outcome: .runCompleted(lastStep: nil, output: Array("\"forged\"".utf8)))),
                on: connection)
        case "storeBehind":
            // The store falls behind (a slow disk): the runtime holds dispatch until it catches up.
            guard core != nil, core?.dispatchHeld == false else { return }
            trace("store behind: dispatch held")
            command(.holdDispatch(true))
            schedule(.releaseDispatch, in: random.ms(100...5_000))
        default:  // clockJump
            let jump = random.ms(1_000...30_000)
            trace("coordinator clock jumps \(jump) ms")
            clockOffset += jump
            jumps.append((now, jump))
            // A jump of most of a lease makes every worker look silent: their steps may go elsewhere.
            if jump >= 10_000 { for worker in workers.indices { excuseRunning(worker: worker) } }
        }
    }

    // MARK: Checks

    private func allRunsEnded() -> Bool {
        guard let core, runIdOf.count == settings.runs else { return false }
        return core.runs.isEmpty
    }

    private func finalChecks() throws {
        guard let store else { return violation("the coordinator is down at the end") }
        if let core, !core.runs.isEmpty {
            violation("\(core.runs.count) runs still active at the end: \(core.runs.keys.sorted().prefix(5))")
        }
        for n in 0..<settings.runs {
            guard let runId = runIdOf[n], let script = scriptOf[n] else {
                violation("event \(n) started no run")
                continue
            }
            guard let run = try store.run(id: runId) else {
                violation("run \(runId) of event \(n) is not in the store")
                continue
            }
            switch run.status {
            case .completed:
                report.runsCompleted += 1
                if run.output != SimScript.expectedOutput(script: script) {
                    violation("run \(runId) completed with \(String(decoding: run.output ?? [], as: UTF8.self))")
                }
            case .cancelled where cancelled.contains(n):
                report.runsCancelled += 1
            default:
                violation(
                    "run \(runId) (script \(script)) ended \(run.status.rawValue): \(run.error.map { "\($0.code): \($0.message)" } ?? "")")
            }
            let ids = run.steps.map(\.id)
            if Set(ids).count != ids.count { violation("run \(runId) has a step twice: \(ids)") }
        }
    }
}
