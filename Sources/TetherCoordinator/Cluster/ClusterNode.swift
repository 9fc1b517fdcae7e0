import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TetherCluster
import TetherStore

/// One node of a cluster: stands by, tailing the journal into its own store, until it can take
/// the leader lease; then serves as a coordinator whose every commit goes to the journal first,
/// renewing the lease, until it loses it or stops (docs/operations.md, "High availability").
///
/// Each term is a fresh coordinator built from the node's store, which holds exactly a prefix
/// of the journal: a node that stops leading (its lease lost or run out, the journal failing)
/// drops everything it held in memory, goes back to standing by, and may lead again later with
/// a new epoch, as a restarted process would.
struct ClusterNode: Sendable {
    let configuration: CoordinatorConfiguration
    let cluster: ClusterConfiguration
    let state: ClusterNodeState
    let metrics: CoordinatorMetrics
    let group: any EventLoopGroup
    let logger: Logger
    /// Called once the node serves HTTP and workers (as standby or leader) on its ports.
    let onListening: @Sendable (Coordinator.Endpoints) -> Void

    /// Where the leader takes checkpoints and a node that fell behind the journal starts from.
    var checkpointDirectory: String {
        configuration.checkpointDirectory(of: cluster)
    }

    /// Why a term ended.
    enum StepDown: String {
        case leaseLost = "lease_lost"
        case leaseExpired = "lease_expired"
        case journalFailed = "journal_failed"
        /// The term's coordinator stopped by itself (it could not start, say: a port in use).
        case failed
        case shutdown
    }

    /// A lease this node took, and where its store stands.
    struct Acquired {
        var epoch: UInt64
        var appliedSequence: UInt64
        /// Monotonic nanoseconds until which the lease is surely held.
        var validUntil: UInt64
    }

    func run() async throws {
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        defer { threadPool.shutdownGracefully { _ in } }
        let journal = PostgresJournal(url: cluster.journal, logger: logger)
        let shutdown = ShutdownSignal()
        try await withGracefulShutdownHandler {
            defer { Task { await journal.close() } }
            try await prepare(journal, shutdown: shutdown)
            while !shutdown.isRequested {
                guard let acquired = try await standBy(journal: journal, threadPool: threadPool, shutdown: shutdown) else { break }
                let reason = try await lead(acquired, journal: journal, shutdown: shutdown)
                if reason == .shutdown {
                    try? await journal.releaseLease(nodeId: cluster.nodeId, epoch: acquired.epoch)
                    break
                }
            }
        } onGracefulShutdown: {
            shutdown.request()
        }
    }

    /// Creates the journal's tables, waiting for PostgreSQL as long as it takes.
    private func prepare(_ journal: PostgresJournal, shutdown: ShutdownSignal) async throws {
        var attempt = 0
        while !shutdown.isRequested {
            do {
                try await journal.prepare()
                logger.info("journal ready", metadata: ["journal": "\(cluster.journal.redacted)", "node": "\(cluster.nodeId)"])
                return
            } catch {
                attempt += 1
                if attempt == 1 || attempt % 30 == 0 {
                    logger.error("journal unreachable; retrying", metadata: ["error": "\(error)"])
                }
                await shutdown.wait(milliseconds: 1_000)
            }
        }
    }

    // MARK: Standing by

    /// Tails the journal into the store while serving the standby's HTTP and worker ports, until
    /// this node takes the lease (nil: the node is shutting down).
    private func standBy(journal: PostgresJournal, threadPool: NIOThreadPool, shutdown: ShutdownSignal) async throws -> Acquired? {
        state.update { values in
            values.role = .standby
            values.appender = nil
        }
        let directory = configuration.dataDirectory
        func openStore() async throws -> CoordinatorStore {
            try await threadPool.runIfActive { try CoordinatorStore(directory: directory, durability: .relaxed) }
        }
        // A new node starts from the latest checkpoint when the journal was trimmed.
        await bootstrapIfEmpty(journal: journal, threadPool: threadPool)
        var store = try await openStore()
        defer { store.close() }
        var tailer = JournalTailer(journal: journal, db: store.db, threadPool: threadPool)
        let server = StandbyServer(configuration: configuration, cluster: cluster, state: state, group: group, logger: logger)
        let endpoints = try await server.start()
        onListening(endpoints)
        defer { Task { await server.stop() } }
        let wake = ShutdownSignal.Wake()
        let listener = Task {
            while !Task.isCancelled {
                try? await journal.listenForAppends { wake.signal() }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        defer { listener.cancel() }
        var lastWarning: ContinuousClock.Instant?
        while !shutdown.isRequested {
            do {
                let applied = try await tailer.catchUp()
                let bounds = try await journal.bounds()
                state.progress(applied: applied, last: bounds.last, now: JournalAppender.monotonicNanoseconds())
                let leader = try await journal.leader()
                state.update { values in
                    values.epoch = max(values.epoch, leader.epoch)
                    values.leader =
                        leader.isHeld ? ClusterView.Node(nodeId: leader.nodeId, http: leader.http, worker: leader.worker) : nil
                }
                if !leader.isHeld || leader.nodeId == cluster.nodeId {
                    let sent = JournalAppender.monotonicNanoseconds()
                    if let epoch = try await journal.acquireLease(
                        nodeId: cluster.nodeId, ttlMilliseconds: cluster.leaseMilliseconds, http: cluster.advertisedHTTP,
                        worker: cluster.advertisedWorker)
                    {
                        // The previous leader is fenced now: whatever it committed is in the journal.
                        let applied = try await tailer.catchUp()
                        logger.info(
                            "took the leader lease",
                            metadata: [
                                "node": "\(cluster.nodeId)", "epoch": "\(epoch)", "appliedSequence": "\(applied)",
                                "previous": "\(leader.nodeId)",
                            ])
                        await server.stop()
                        return Acquired(
                            epoch: epoch, appliedSequence: applied,
                            validUntil: sent + UInt64(cluster.leaseMilliseconds) * 1_000_000)
                    }
                }
            } catch let error as ClusterError where error.code == .journalTrimmed {
                // The journal no longer continues this store: start again from a checkpoint.
                logger.warning("this node's store fell behind the trimmed journal", metadata: ["error": "\(error)"])
                store.close()
                do {
                    try await bootstrap(journal: journal, threadPool: threadPool, replacing: true)
                } catch {
                    logger.error("cannot start this node from a checkpoint; retrying", metadata: ["error": "\(error)"])
                    await shutdown.wait(milliseconds: 1_000)
                }
                store = try await openStore()
                tailer = JournalTailer(journal: journal, db: store.db, threadPool: threadPool)
                continue
            } catch {
                let now = ContinuousClock.now
                if lastWarning.map({ now - $0 > .seconds(10) }) ?? true {
                    lastWarning = now
                    if let error = error as? ClusterError, error.code == .journalMismatch {
                        logger.critical("this node cannot follow the journal", metadata: ["error": "\(error)"])
                    } else {
                        logger.warning("standby cannot read the journal; retrying", metadata: ["error": "\(error)"])
                    }
                }
            }
            await wake.wait(milliseconds: cluster.pollIntervalMilliseconds, or: shutdown)
        }
        return nil
    }

    // MARK: Leading

    /// Serves as the coordinator with the journal until the lease is lost or the node stops.
    private func lead(_ acquired: Acquired, journal: PostgresJournal, shutdown: ShutdownSignal) async throws -> StepDown {
        let appender = JournalAppender(
            journal: journal, nodeId: cluster.nodeId, epoch: acquired.epoch, firstSequence: acquired.appliedSequence + 1,
            leaseValidUntil: acquired.validUntil)
        state.update { values in
            values.role = .leader
            values.epoch = acquired.epoch
            values.appender = appender
            values.terms += 1
            values.leader = ClusterView.Node(
                nodeId: cluster.nodeId, http: cluster.advertisedHTTP, worker: cluster.advertisedWorker)
            values.behindSince = nil
        }
        var termConfiguration = configuration
        termConfiguration.cluster = nil
        termConfiguration.leaderTerm = LeaderTerm(
            appender: appender, state: state,
            checkpoints: .init(
                directory: checkpointDirectory, intervalMilliseconds: cluster.checkpointIntervalMilliseconds,
                keep: cluster.checkpointKeep))
        // Workers of a leader that steps down should find the next one soon.
        termConfiguration.reconnectWindowMilliseconds = min(configuration.reconnectWindowMilliseconds, 1_000)
        let coordinator = Coordinator(configuration: termConfiguration, logger: logger, eventLoopGroup: group, metrics: metrics)
        let services = ServiceGroup(
            configuration: .init(services: [.init(service: coordinator)], gracefulShutdownSignals: [], logger: logger))
        // Only this loop decides how the term ends.
        var ended: StepDown?
        let servingEnded = Atomic<Bool>(false)
        let serving = Task {
            do {
                try await services.run()
            } catch {
                logger.error("the leader's coordinator stopped", metadata: ["error": "\(error)"])
            }
            servingEnded.store(true, ordering: .releasing)
        }
        Task {
            if let endpoints = try? await coordinator.waitUntilRunning() { onListening(endpoints) }
        }
        // Renew until the term ends; check the appender more often than that.
        var lastRenewal = JournalAppender.monotonicNanoseconds()
        let renewInterval = UInt64(cluster.renewIntervalMilliseconds) * 1_000_000
        let lease = UInt64(cluster.leaseMilliseconds) * 1_000_000
        var validUntil = acquired.validUntil
        while ended == nil {
            await shutdown.wait(milliseconds: 100)
            let now = JournalAppender.monotonicNanoseconds()
            if shutdown.isRequested {
                ended = .shutdown
            } else if servingEnded.load(ordering: .acquiring) {
                ended = .failed
            } else if let failure = appender.failure {
                ended = failure.code == .fenced && now >= validUntil ? .leaseExpired : .journalFailed
                logger.error("journal append failed; stepping down", metadata: ["error": "\(failure)"])
            } else if now >= validUntil {
                ended = .leaseExpired
            } else if now &- lastRenewal >= renewInterval {
                lastRenewal = now
                do {
                    if try await journal.renewLease(
                        nodeId: cluster.nodeId, epoch: acquired.epoch, ttlMilliseconds: cluster.leaseMilliseconds)
                    {
                        validUntil = now + lease
                        appender.extendLease(until: validUntil)
                        state.update { $0.renewals += 1 }
                    } else {
                        ended = .leaseLost
                    }
                } catch {
                    state.update { $0.failedRenewals += 1 }
                    logger.warning("lease renewal failed", metadata: ["error": "\(error)"])
                }
            }
        }
        let reason = ended ?? .shutdown
        appender.fence("this node stopped leading: \(reason.rawValue)")
        logger.warning("leaving the leader role", metadata: ["node": "\(cluster.nodeId)", "epoch": "\(acquired.epoch)", "reason": "\(reason.rawValue)"])
        state.update { values in
            values.role = .standby
            values.stepDowns[reason.rawValue, default: 0] += 1
            values.pastAppends = values.pastAppends.adding(appender.statistics)
            values.appender = nil
            if reason != .shutdown { values.leader = nil }
        }
        await services.triggerGracefulShutdown()
        await serving.value
        return reason
    }
}

/// A one-way flag for graceful shutdown, with waits that end early when it is raised.
final class ShutdownSignal: Sendable {
    private let raised = Atomic<Bool>(false)

    var isRequested: Bool { raised.load(ordering: .acquiring) }

    func request() { raised.store(true, ordering: .releasing) }

    /// Sleeps `milliseconds`, or less if shutdown is requested meanwhile.
    func wait(milliseconds: Int64) async {
        await Wake.sleep(milliseconds: milliseconds) { self.isRequested }
    }

    /// A wake-up for a polling loop: ``signal()`` ends the current (or next) wait early.
    final class Wake: Sendable {
        private let pending = Atomic<Bool>(false)

        func signal() { pending.store(true, ordering: .releasing) }

        /// Waits until signalled (and clears the signal), `shutdown` is requested, or
        /// `milliseconds` passed.
        func wait(milliseconds: Int64, or shutdown: ShutdownSignal) async {
            await Wake.sleep(milliseconds: milliseconds) { self.pending.load(ordering: .acquiring) || shutdown.isRequested }
            pending.store(false, ordering: .releasing)
        }

        /// Sleeps in slices of 10 ms until `done` holds or `milliseconds` passed: cheap, and
        /// never misses a signal raised between two checks.
        static func sleep(milliseconds: Int64, until done: () -> Bool) async {
            let deadline = ContinuousClock.now + .milliseconds(milliseconds)
            while !done() && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
