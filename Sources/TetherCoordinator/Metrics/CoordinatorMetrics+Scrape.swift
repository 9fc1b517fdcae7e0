import TetherEngine
import TetherStore

extension CoordinatorMetrics {
    /// What a scrape reads besides the registry: taken on the runtime's loop (scheduler and
    /// health) and from the group-commit writer, so the gauges are exact at that moment.
    struct Scrape: Sendable {
        var status: SchedulerStatus
        /// Apps with a registered function, so an app whose workers are all gone shows 0.
        var functionApps: Set<String>
        var storeHealthy: Bool
        var store: GroupCommitStatistics
        var handshakesInProgress: Int
        var handshakesQueued: Int
        var handshakesAwaitingClientHello: Int
        var dispatchHeld = false
        var uncommittedBytes = 0
        /// The store's files on disk (nil when the directory could not be read).
        var diskBytes: Int64?
        /// RocksDB's memory by kind (`memtables`, `block_cache`, `table_readers`).
        var storeMemory: [(kind: String, bytes: Int)] = []
    }

    /// The Prometheus text for `GET /metrics`: the registry's counters and histograms, then
    /// the families read at scrape time.
    func render(_ scrape: Scrape) -> [UInt8] {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        var writer = PrometheusTextWriter(appendingTo: bytes)
        Self.writeScheduler(scrape, into: &writer)
        Self.writeStore(scrape, into: &writer)
        return writer.bytes
    }

    static func writeScheduler(_ scrape: Scrape, into writer: inout PrometheusTextWriter) {
        let status = scrape.status
        var apps: [String: (workers: Int, capacity: Int, inUse: Int)] = [:]
        for app in scrape.functionApps { apps[app] = (0, 0, 0) }
        for worker in status.workers {
            let current = apps[worker.app] ?? (0, 0, 0)
            apps[worker.app] = (
                current.workers + 1, current.capacity + worker.capacity, current.inUse + worker.inFlight
            )
        }
        let byApp = apps.sorted { $0.key < $1.key }
        writer.header(.workersConnected)
        for (app, counts) in byApp { writer.sample(.workersConnected, [app], counts.workers) }
        writer.header(.capacitySlots)
        for (app, counts) in byApp { writer.sample(.capacitySlots, [app], counts.capacity) }
        writer.header(.capacityInUseSlots)
        for (app, counts) in byApp { writer.sample(.capacityInUseSlots, [app], counts.inUse) }

        writer.header(.queueDepth)
        for function in status.functions { writer.sample(.queueDepth, [function.id], function.queued) }
        writer.header(.queueOldestAge)
        for function in status.functions {
            writer.sample(.queueOldestAge, [function.id], Double(function.oldestQueuedAgeMilliseconds) / 1_000)
        }
        writer.header(.stepsRunning)
        for function in status.functions { writer.sample(.stepsRunning, [function.id], function.running) }
        writer.header(.runsActive)
        writer.sample(.runsActive, [], status.activeRuns)
        writer.header(.dispatchHeld)
        writer.sample(.dispatchHeld, [], scrape.dispatchHeld ? 1 : 0)
        writer.header(.handshakesInProgress)
        writer.sample(.handshakesInProgress, [], scrape.handshakesInProgress)
        writer.header(.handshakesQueued)
        writer.sample(.handshakesQueued, [], scrape.handshakesQueued)
        writer.header(.handshakesAwaitingClientHello)
        writer.sample(.handshakesAwaitingClientHello, [], scrape.handshakesAwaitingClientHello)
    }

    static func writeStore(_ scrape: Scrape, into writer: inout PrometheusTextWriter) {
        let store = scrape.store
        writer.header(.storeHealthy)
        writer.sample(.storeHealthy, [], scrape.storeHealthy ? 1 : 0)
        writer.header(.storeCommitLatency)
        writer.histogram(
            .storeCommitLatency, upperBounds: store.commitNanoseconds.upperBounds.map { Double($0) / 1e9 },
            cumulativeCounts: store.commitNanoseconds.cumulativeCounts, count: store.commitNanoseconds.count,
            sum: Double(store.commitNanoseconds.sum) / 1e9)
        writer.header(.storeCommitBatches)
        writer.histogram(
            .storeCommitBatches, upperBounds: store.batchesPerCommit.upperBounds.map { Double($0) },
            cumulativeCounts: store.batchesPerCommit.cumulativeCounts, count: store.batchesPerCommit.count,
            sum: Double(store.batchesPerCommit.sum))
        writer.header(.uncommittedWrites)
        writer.sample(.uncommittedWrites, [], scrape.uncommittedBytes)
        writer.header(.storeCommitFailures)
        writer.sample(.storeCommitFailures, [], store.failedCommits)
        writer.header(.storeWrittenBytes)
        writer.sample(.storeWrittenBytes, [], store.bytes)
        if let diskBytes = scrape.diskBytes {
            writer.header(.storeDiskBytes)
            writer.sample(.storeDiskBytes, [], Int(diskBytes))
        }
        if !scrape.storeMemory.isEmpty {
            writer.header(.storeMemory)
            for (kind, bytes) in scrape.storeMemory { writer.sample(.storeMemory, [kind], bytes) }
        }
    }
}
