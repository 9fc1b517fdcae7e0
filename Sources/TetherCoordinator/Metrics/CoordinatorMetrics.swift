import Prometheus
import Synchronization
import TetherEngine
import TetherStore

/// Every metric the coordinator exports (`GET /metrics`), by name. docs/operations.md
/// ("Metrics") lists the same families; a test checks that it names each one.
extension MetricFamily {
    // Counted where things happen, in the coordinator's registry.
    static let stepResults = MetricFamily(
        .counter, "tether_step_results_total", labels: ["outcome"],
        "Step results reported by workers, by what the coordinator made of them.")
    static let stepsDispatched = MetricFamily(
        .counter, "tether_steps_dispatched_total",
        "Step requests sent to workers (first attempts, retries and re-dispatches).")
    static let dispatchLatency = MetricFamily(
        .histogram, "tether_dispatch_latency_seconds",
        "Time from a run's creation (its event accepted) to its first dispatch to a worker.")
    static let runsCreated = MetricFamily(
        .counter, "tether_runs_created_total", labels: ["function"], "Runs created, by any trigger.")
    static let runsFinished = MetricFamily(
        .counter, "tether_runs_finished_total", labels: ["function", "status"],
        "Runs that ended, by status (completed, failed, cancelled).")
    static let leaseExpiries = MetricFamily(
        .counter, "tether_lease_expiries_total",
        "Step leases that expired without a result or heartbeat; the step was queued again.")
    static let resultsRefused = MetricFamily(
        .counter, "tether_step_results_refused_total", labels: ["reason"],
        "Step results refused because their sender does not hold the request's lease, by reason.")
    static let handshakesAccepted = MetricFamily(
        .counter, "tether_worker_handshakes_accepted_total", "Worker connections that completed the handshake.")
    static let handshakesRejected = MetricFamily(
        .counter, "tether_worker_handshakes_rejected_total", labels: ["code"],
        "Worker connections refused before registering, by error code (tls: the TLS handshake failed).")
    static let eventsAccepted = MetricFamily(
        .counter, "tether_events_accepted_total",
        "Events accepted by POST /v1/events (new ids; duplicates not counted).")
    static let statusSnapshots = MetricFamily(
        .counter, "tether_scheduler_status_snapshots_total",
        "Status snapshots the scheduler built for /v1/status, its stream, /v1/workers and /metrics (at most 4 a second).")
    static let overloaded = MetricFamily(
        .counter, "tether_overloaded_total", labels: ["reason"],
        "Requests answered 429 overloaded, by the bound that was reached.")

    // Read from the scheduler and the store at scrape time.
    static let dispatchHeld = MetricFamily(
        .gauge, "tether_dispatch_held",
        "1 while no step is dispatched because the store is behind (too many changes not yet durable).")
    static let uncommittedWrites = MetricFamily(
        .gauge, "tether_store_uncommitted_bytes", "Bytes of changes handed to the store and not yet durable.")
    static let workersConnected = MetricFamily(
        .gauge, "tether_workers_connected", labels: ["app"], "Registered worker connections, by app.")
    static let capacitySlots = MetricFamily(
        .gauge, "tether_capacity_slots", labels: ["app"], "Step slots advertised by connected workers, by app.")
    static let capacityInUseSlots = MetricFamily(
        .gauge, "tether_capacity_in_use_slots", labels: ["app"], "Step slots holding a leased step, by app.")
    static let queueDepth = MetricFamily(
        .gauge, "tether_queue_depth", labels: ["function"],
        "Work items ready to dispatch or waiting for their retry time, by function.")
    static let queueOldestAge = MetricFamily(
        .gauge, "tether_queue_oldest_age_seconds", labels: ["function"],
        "Age of the oldest work item ready to dispatch, by function (0 when none).")
    static let stepsRunning = MetricFamily(
        .gauge, "tether_steps_running", labels: ["function"], "Steps leased to workers, by function.")
    static let runsActive = MetricFamily(
        .gauge, "tether_runs_active", "Runs not ended (queued, running, sleeping, waiting).")
    static let handshakesInProgress = MetricFamily(
        .gauge, "tether_worker_handshakes_in_progress",
        "Worker handshakes in progress (bounded by the handshake limit).")
    static let handshakesQueued = MetricFamily(
        .gauge, "tether_worker_handshakes_queued",
        "Worker connections waiting, before TLS, for a handshake slot.")
    static let handshakesAwaitingClientHello = MetricFamily(
        .gauge, "tether_worker_connections_awaiting_client_hello",
        "Worker connections accepted that have not sent their whole TLS ClientHello yet (they hold no handshake slot).")
    static let storeHealthy = MetricFamily(
        .gauge, "tether_store_healthy", "1 while the store accepts writes; 0 after a write failed (restart needed).")
    static let storeCommitLatency = MetricFamily(
        .histogram, "tether_store_commit_seconds",
        "Wall time of each RocksDB group commit, including its WAL fsync in strict durability.")
    static let storeCommitBatches = MetricFamily(
        .histogram, "tether_store_commit_batches", "Changes merged into each RocksDB group commit (the group size).")
    static let storeCommitFailures = MetricFamily(
        .counter, "tether_store_commit_failures_total", "RocksDB group commits that failed.")
    static let storeWrittenBytes = MetricFamily(
        .counter, "tether_store_written_bytes_total", "Key and value bytes written to RocksDB.")

    static let storeDiskBytes = MetricFamily(
        .gauge, "tether_store_disk_bytes", "Bytes of the store's files on disk (SST files, write-ahead logs, manifests).")
    static let storeMemory = MetricFamily(
        .gauge, "tether_store_memory_bytes", labels: ["kind"],
        "Memory RocksDB holds, by kind: memtables (writes not yet flushed), block_cache (data read), table_readers (indexes and filters of open files).")
    static let retentionDeleted = MetricFamily(
        .counter, "tether_retention_deleted_total", labels: ["kind"],
        "Records retention deleted, by kind: runs, steps, events (payloads) and event_ids (ids kept for deduplication).")
    static let retentionSweeps = MetricFamily(
        .counter, "tether_retention_sweeps_total", "Retention sweeps that looked for what to delete.")

    /// Every family, in the order of docs/operations.md.
    static let all: [MetricFamily] = [
        .workersConnected, .capacitySlots, .capacityInUseSlots, .queueDepth, .queueOldestAge, .stepsRunning,
        .runsActive, .dispatchHeld,
        .dispatchLatency, .stepsDispatched, .stepResults, .runsCreated, .runsFinished, .leaseExpiries, .resultsRefused, .eventsAccepted,
        .statusSnapshots, .overloaded,
        .handshakesAccepted, .handshakesRejected, .handshakesInProgress, .handshakesQueued,
        .handshakesAwaitingClientHello, .storeHealthy, .storeCommitLatency,
        .storeCommitBatches, .uncommittedWrites, .storeCommitFailures, .storeWrittenBytes,
        .storeDiskBytes, .storeMemory, .retentionDeleted, .retentionSweeps,
    ]
}

/// One coordinator's metrics, in its own registry: several coordinators in one process (the
/// integration tests) never share a counter, and the global `MetricsSystem` is left alone.
///
/// Counters and histograms are updated where things happen: the runtime reports each
/// command's effects, each step result and each tick; the connection handler reports
/// handshakes. Gauges are read from the scheduler at scrape time (`CoordinatorMetrics+Scrape.swift`).
final class CoordinatorMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let stepsDispatched: Counter
    let dispatchLatency: DurationHistogram
    let leaseExpiries: Counter
    let handshakesAccepted: Counter
    let eventsAccepted: Counter
    let statusSnapshots: Counter
    let retentionSweeps: Counter
    private let retentionDeleted: [String: Counter]
    private let overloaded: [OverloadReason: Counter]
    private let stepResults: [StepResultOutcome: Counter]
    private let resultsRefused: [RefusedResult.Reason: Counter]
    /// Counters labelled by function, made on first use.
    private let runCounters = Mutex(RunCounters())

    private struct RunCounters {
        var created: [String: Counter] = [:]
        var finished: [FinishedKey: Counter] = [:]
    }

    private struct FinishedKey: Hashable {
        var function: String
        var status: RunStatus
    }

    static let dispatchLatencyBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        stepsDispatched = registry.makeCounter(descriptor: MetricFamily.stepsDispatched.descriptor)
        dispatchLatency = registry.makeDurationHistogram(
            descriptor: MetricFamily.dispatchLatency.descriptor, buckets: Self.dispatchLatencyBuckets)
        leaseExpiries = registry.makeCounter(descriptor: MetricFamily.leaseExpiries.descriptor)
        handshakesAccepted = registry.makeCounter(descriptor: MetricFamily.handshakesAccepted.descriptor)
        eventsAccepted = registry.makeCounter(descriptor: MetricFamily.eventsAccepted.descriptor)
        statusSnapshots = registry.makeCounter(descriptor: MetricFamily.statusSnapshots.descriptor)
        retentionSweeps = registry.makeCounter(descriptor: MetricFamily.retentionSweeps.descriptor)
        var retentionDeleted: [String: Counter] = [:]
        for kind in ["runs", "steps", "events", "event_ids"] {
            retentionDeleted[kind] = registry.makeCounter(
                descriptor: MetricFamily.retentionDeleted.descriptor, labels: [("kind", kind)])
        }
        self.retentionDeleted = retentionDeleted
        var overloaded: [OverloadReason: Counter] = [:]
        for reason in OverloadReason.allCases {
            overloaded[reason] = registry.makeCounter(
                descriptor: MetricFamily.overloaded.descriptor, labels: [("reason", reason.rawValue)])
        }
        self.overloaded = overloaded
        var stepResults: [StepResultOutcome: Counter] = [:]
        for outcome in StepResultOutcome.allCases {
            stepResults[outcome] = registry.makeCounter(
                descriptor: MetricFamily.stepResults.descriptor, labels: [("outcome", outcome.rawValue)])
        }
        self.stepResults = stepResults
        var resultsRefused: [RefusedResult.Reason: Counter] = [:]
        for reason in RefusedResult.Reason.allCases {
            resultsRefused[reason] = registry.makeCounter(
                descriptor: MetricFamily.resultsRefused.descriptor, labels: [("reason", reason.rawValue)])
        }
        self.resultsRefused = resultsRefused
    }

    // MARK: Recording

    /// A worker's step result and the effects of applying it.
    func recordStepResult(_ outcome: StepOutcome, runId: String, requestId: String, effects: Effects) {
        stepResults[StepResultOutcome(outcome, runId: runId, requestId: requestId, effects: effects)]?.increment()
    }

    /// What one retention sweep deleted, once durable.
    func recordRetention(_ counts: RetentionCounts) {
        for (kind, count) in [("runs", counts.runs), ("steps", counts.steps), ("events", counts.events), ("event_ids", counts.eventIds)]
        where count > 0 {
            retentionDeleted[kind]?.increment(by: Int64(count))
        }
    }

    /// A handshake refused with `code` (a Reject or an error frame before Welcome).
    func recordHandshakeRejected(code: String) {
        registry.makeCounter(descriptor: MetricFamily.handshakesRejected.descriptor, labels: [("code", code)])
            .increment()
    }

    /// Leases that ran out in a tick (on a connected worker, or waiting for one to resume them).
    func recordLeaseExpiries(_ count: Int) {
        if count > 0 { leaseExpiries.increment(by: Int64(count)) }
    }

    /// A request answered `429 overloaded`.
    func recordOverloaded(_ reason: OverloadReason) {
        overloaded[reason]?.increment()
    }

    /// A step result refused because its sender does not hold the lease.
    func recordRefusedResult(reason: RefusedResult.Reason) {
        resultsRefused[reason]?.increment()
    }

    /// A command's effects, once its writes are durable: dispatches, first-dispatch latency,
    /// runs created and runs finished.
    ///
    /// A run's first dispatch is the one that started it: the scheduler sets its
    /// `startedAtMilliseconds` to the dispatch time, which is the lease deadline less the
    /// lease duration; its latency is the time from the run's creation to then.
    func observe(_ effects: Effects, leaseDurationMilliseconds: Int64) {
        var dispatched = 0
        for message in effects.messages {
            guard case .dispatch(let dispatch) = message else { continue }
            dispatched += 1
            let run = dispatch.run
            if dispatch.targetStepId.isEmpty,
                run.startedAtMilliseconds == dispatch.leaseDeadlineMilliseconds - leaseDurationMilliseconds
            {
                dispatchLatency.record(.milliseconds(max(0, run.startedAtMilliseconds - run.createdAtMilliseconds)))
            }
        }
        if dispatched > 0 { stepsDispatched.increment(by: Int64(dispatched)) }

        var created: [String] = []
        var finished: [FinishedKey] = []
        var ending = Set(effects.finishedRuns)
        for write in effects.writes {
            guard case .putRun(let run, _, let isNew) = write else { continue }
            if isNew { created.append(run.functionId) }
            if run.status.isTerminal, ending.remove(run.id) != nil {
                finished.append(FinishedKey(function: run.functionId, status: run.status))
            }
        }
        guard !created.isEmpty || !finished.isEmpty else { return }
        let registry = self.registry
        let counters = runCounters.withLock { counters -> [Counter] in
            var result: [Counter] = []
            for function in created {
                if counters.created[function] == nil {
                    counters.created[function] = registry.makeCounter(
                        descriptor: MetricFamily.runsCreated.descriptor, labels: [("function", function)])
                }
                result.append(counters.created[function]!)
            }
            for key in finished {
                if counters.finished[key] == nil {
                    counters.finished[key] = registry.makeCounter(
                        descriptor: MetricFamily.runsFinished.descriptor,
                        labels: [("function", key.function), ("status", key.status.rawValue)])
                }
                result.append(counters.finished[key]!)
            }
            return result
        }
        for counter in counters { counter.increment() }
    }
}

/// Which bound made the coordinator answer `429 overloaded` (docs/operations.md, "Backpressure").
enum OverloadReason: String, CaseIterable, Sendable {
    /// `maxPendingEventRequests` requests were in progress.
    case pendingRequests = "pending_requests"
    /// The store was behind by more than `maxUncommittedWriteBytes`.
    case uncommittedWrites = "uncommitted_writes"
    /// `maxActiveRuns` runs were active.
    case activeRuns = "active_runs"
}
