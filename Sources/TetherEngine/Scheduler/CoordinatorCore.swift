import DequeModule
import HeapModule

/// The coordinator's pure state machine: functions, workers, active runs, queues and leases.
///
/// Every method applies one command at time `now` (Unix milliseconds, injected so tests drive a
/// manual clock) and returns ``Effects`` for the I/O layer: writes to make durable, then
/// messages to send. It performs no I/O and never blocks.
public struct CoordinatorCore: Sendable {
    /// Tunables of the scheduler.
    public struct Configuration: Sendable, Equatable {
        public var limits: Limits
        public var timing: ProtocolTiming
        public var retry: RetryPolicy
        /// How many recently seen event ids are remembered in memory for deduplication
        /// (older ones are found in the store).
        public var recentEventIdCapacity: Int
        /// Check every invariant after each command (see ``CoordinatorCore/apply(_:now:)``): for
        /// tests and debugging, as it walks all state.
        public var checksInvariants: Bool

        public init(
            limits: Limits = .default, timing: ProtocolTiming = .default, retry: RetryPolicy = RetryPolicy(),
            recentEventIdCapacity: Int = 100_000, checksInvariants: Bool = false
        ) {
            self.limits = limits
            self.timing = timing
            self.retry = retry
            self.recentEventIdCapacity = recentEventIdCapacity
            self.checksInvariants = checksInvariants
        }
    }

    /// Something to dispatch: a run to continue (`stepId` empty: replay to the next new step)
    /// or one of its parallel steps to execute.
    struct WorkItem: Hashable, Sendable {
        var runId: String
        var stepId: String

        static func next(_ runId: String) -> WorkItem { WorkItem(runId: runId, stepId: "") }
    }

    /// A request out on a worker. A lease outlives its connection: when the connection ends
    /// without a Goodbye (or the coordinator restarts), the lease is detached
    /// (`connectionId` empty) and waits, until its deadline, for the same worker instance to
    /// come back and resume it.
    struct Lease: Sendable {
        var item: WorkItem
        /// The connection holding it; empty while detached.
        var connectionId: String
        /// The worker instance and app it was sent to.
        var instanceId: String
        var app: String
        var deadlineMilliseconds: Int64
        var dispatchedAtMilliseconds: Int64
        /// The concurrency keys this step counts against while it runs.
        var constraints: [String] = []
        /// The run ended (cancelled, timed out) while the step was out: the lease stays, with its
        /// slot and concurrency keys, until the worker answers or the lease runs out.
        var runEnded = false
        var runId: String { item.runId }
        var instanceKey: String { CoordinatorCore.instanceKey(app: app, instanceId: instanceId) }
    }

    /// The key of a worker instance: app NUL instance id.
    static func instanceKey(app: String, instanceId: String) -> String { app + "\u{0}" + instanceId }

    public let configuration: Configuration
    /// Function definitions, who registered them, and which events trigger them.
    var functions = FunctionRegistry()
    public internal(set) var workers: [String: WorkerState] = [:]
    /// Runs that have not ended, by id.
    public internal(set) var runs: [String: RunRecord] = [:]
    /// Work ready to go out, per function and fairness lane.
    var ready = ReadyQueues()
    /// Requests out on workers.
    var leases = LeaseTable()
    /// Retry times, sleeps, wait timeouts, run timeouts, debounces, batches and cron ticks.
    var timers: Heap<Timer> = []
    /// Waits (`waitForEvent` and `cancelOn`) by event name.
    var waitIndex = WaitIndex()
    /// Flow control's state across runs: concurrency counts, singletons, rates, debounces, batches.
    var flow = FlowState()
    /// Recent event ids and idempotency keys, for deduplication.
    var eventMemory: EventMemory
    /// Cron triggers, the ticks they last fired, and the ticks they are armed for.
    var cron = CronTable()
    var ids: IDGenerator
    var random: SplitMix64
    /// No step goes out while true (``Command/holdDispatch(_:)``).
    public internal(set) var dispatchHeld = false

    public init(configuration: Configuration = Configuration(), seed: UInt64? = nil) {
        self.configuration = configuration
        self.eventMemory = EventMemory(capacity: configuration.recentEventIdCapacity)
        if let seed {
            self.ids = IDGenerator(seed: seed)
            self.random = SplitMix64(seed: seed ^ 0x5DEE_CE66)
        } else {
            self.ids = IDGenerator()
            var system = SystemRandomNumberGenerator()
            self.random = SplitMix64(seed: system.next())
        }
    }

    /// A new unique, time-ordered id.
    public mutating func makeID(nowMilliseconds: Int64) -> String {
        ids.next(nowMilliseconds: nowMilliseconds)
    }

    /// Every function definition known to the coordinator.
    public var functionDefinitions: [FunctionDefinition] {
        functions.all.map(\.definition).sorted { $0.id < $1.id }
    }

    /// Connection ids that registered function `id`.
    public func connections(ofFunction id: String) -> Set<String> {
        functions[id]?.connections ?? []
    }

    /// Restores state read from the store at start: known functions and every run that had
    /// not ended, with their timers, waits and parallel steps; timers already due fire on the
    /// first tick.
    ///
    /// A step that was out on a worker (`leases`) stays leased, detached, for
    /// `resumeGraceMilliseconds`: the worker instance that ran it may reconnect and resume it
    /// (or deliver the result it holds). Only then does it go out again, without consuming an
    /// attempt. Returns the writes that drop leases whose run has ended.
    @discardableResult
    public mutating func restore(
        functions definitions: [FunctionDefinition], runs active: [RunRecord], leases storedLeases: [LeaseRecord] = [],
        cronTicks: [String: Int64] = [:], idempotencyKeys keys: [String: Int64] = [:],
        flowStates states: [String: Int64] = [:], debounces pendingDebounces: [DebounceRecord] = [],
        batches pendingBatches: [BatchRecord] = [], now: Int64
    ) -> Effects {
        var effects = Effects()
        cron = CronTable(fired: cronTicks)
        for (key, tat) in states where tat > now {
            flow.setRate(key, tat)
        }
        for record in pendingDebounces {
            flow.debounces[record.key] = record
            timers.insert(Timer(.debounce(key: record.key), at: record.dueAtMilliseconds))
        }
        for record in pendingBatches {
            flow.batches[record.key] = record
            timers.insert(Timer(.batch(key: record.key), at: record.dueAtMilliseconds))
        }
        for (key, at) in keys.sorted(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
            eventMemory.record(idempotencyKey: key, at: at)
        }
        for definition in definitions {
            install(definition, now: now)
        }
        let restored = active.sorted(by: { $0.id < $1.id }).filter { !$0.status.isTerminal }
        for run in restored {
            runs[run.id] = run
            trackFlow(of: run)
        }
        let grace = now + Int64(configuration.timing.resumeGraceMilliseconds)
        // Continuations' leases are stored in their runs' headers; parallel steps' as records.
        let continuations = restored.compactMap(\.continuationLease)
        for run in restored where run.continuationLease != nil {
            runs[run.id]!.continuationLease = nil  // set again below when the lease is restored
        }
        for (index, record) in (continuations + storedLeases).enumerated() {
            let item = WorkItem(runId: record.runId, stepId: record.stepId)
            if record.stepId.isEmpty, runs[record.runId]?.lastRequestId == record.requestId {
                // Its result was applied: a stale record (earlier builds kept a continuation's
                // lease as a `workLease` record and left it after an applied result).
                effects.writes.append(.deleteLease(runId: record.runId, stepId: record.stepId))
                continue
            }
            guard runs[record.runId] != nil, !leases.isLeased(item) else {
                if !leases.isLeased(item) || !record.stepId.isEmpty {
                    effects.writes.append(.deleteLease(runId: record.runId, stepId: record.stepId))
                }
                continue
            }
            if record.stepId.isEmpty {
                runs[record.runId]!.continuationLease = record
                if index >= continuations.count {
                    // Stored as a record by an earlier build: moved into the run's header.
                    effects.writes.append(.deleteLease(runId: record.runId, stepId: ""))
                    effects.writes.append(.putRun(runs[record.runId]!, stepIndices: [], created: false))
                }
            }
            let constraints = flow.acquire(runId: record.runId)
            let lease = Lease(
                item: item, connectionId: "", instanceId: record.instanceId, app: record.app, deadlineMilliseconds: grace,
                dispatchedAtMilliseconds: record.dispatchedAtMilliseconds, constraints: constraints)
            leases.insert(lease, requestId: record.requestId)
            if runs[record.runId]!.status == .queued {
                // It was dispatched before the restart: it has started.
                runs[record.runId]!.status = .running
                runs[record.runId]!.startedAtMilliseconds = record.dispatchedAtMilliseconds
            }
        }
        for run in restored {
            armRunTimers(runs[run.id]!)
            registerCancelOn(runId: run.id)
            for step in run.steps {
                switch step.status {
                case .sleeping:
                    timers.insert(Timer(.sleep(runId: run.id, stepId: step.id), at: step.dueAtMilliseconds))
                case .waiting:
                    indexWait(runId: run.id, step: step)
                    if step.dueAtMilliseconds > 0 {
                        timers.insert(Timer(.waitTimeout(runId: run.id, stepId: step.id), at: step.dueAtMilliseconds))
                    }
                case .retrying, .completed, .failed, .pending, .invoking:
                    break
                }
            }
            advance(runId: run.id, now: now)
        }
        return effects
    }

    mutating func install(_ definition: FunctionDefinition, now: Int64) {
        if functions.install(definition) { flowConfigurationChanged(functionId: definition.id) }
        armCron(definition, now: now)
    }
}
