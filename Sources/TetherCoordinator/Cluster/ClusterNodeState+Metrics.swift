import TetherCluster

extension MetricFamily {
    // Cluster mode only: served by every node, leader or standby.
    static let clusterRole = MetricFamily(
        .gauge, "tether_cluster_role", labels: ["role"], "1 for this node's current role (leader or standby), 0 for the other.")
    static let clusterEpoch = MetricFamily(
        .gauge, "tether_cluster_epoch", "The leader lease epoch this node leads with, or the last one it saw.")
    static let clusterTerms = MetricFamily(
        .counter, "tether_cluster_terms_total", "Times this node took the leader lease (failovers and restarts).")
    static let clusterStepDowns = MetricFamily(
        .counter, "tether_cluster_step_downs_total", labels: ["reason"],
        "Terms this node ended: lease_lost, lease_expired, journal_failed, failed, shutdown.")
    static let clusterLeaseRenewals = MetricFamily(
        .counter, "tether_cluster_lease_renewals_total", labels: ["outcome"],
        "Lease renewals of this node as leader: renewed, or failed (the database did not answer).")
    static let journalAppends = MetricFamily(
        .counter, "tether_journal_appends_total", "Group commits this node appended to the journal as leader.")
    static let journalAppendFailures = MetricFamily(
        .counter, "tether_journal_append_failures_total", "Appends refused (fenced) or failed; none of them was acknowledged.")
    static let journalBytes = MetricFamily(
        .counter, "tether_journal_written_bytes_total", "Bytes of write batches appended to the journal.")
    static let journalAppendLatency = MetricFamily(
        .histogram, "tether_journal_append_seconds", "Time of each journal append: the PostgreSQL round trip and commit.")
    static let journalAppendSize = MetricFamily(
        .histogram, "tether_journal_append_bytes", "Size of each appended write batch (one group commit).")
    static let journalLastSequence = MetricFamily(
        .gauge, "tether_journal_last_sequence", "The last journal sequence this node knows of.")
    static let journalAppliedSequence = MetricFamily(
        .gauge, "tether_journal_applied_sequence", "The last journal sequence applied to this node's store.")
    static let clusterStandbyLag = MetricFamily(
        .gauge, "tether_cluster_standby_lag_seconds", "For how long this node's store has been behind the journal (0 when not).")

    static let clusterCheckpoints = MetricFamily(
        .counter, "tether_cluster_checkpoints_total", labels: ["outcome"],
        "Scheduled checkpoints this node took as leader: taken, or failed (nothing was trimmed).")
    static let clusterCheckpointSequence = MetricFamily(
        .gauge, "tether_cluster_checkpoint_sequence", "The journal sequence of the last checkpoint this node took.")
    static let journalTrimmed = MetricFamily(
        .counter, "tether_journal_trimmed_entries_total", "Journal entries this node deleted below the oldest kept checkpoint.")
    static let clusterBootstraps = MetricFamily(
        .counter, "tether_cluster_bootstraps_total", "Times this node started its store from a checkpoint.")

    /// The cluster families, in the order of docs/operations.md.
    static let cluster: [MetricFamily] = [
        .clusterRole, .clusterEpoch, .clusterTerms, .clusterStepDowns, .clusterLeaseRenewals, .journalAppends,
        .journalAppendFailures, .journalBytes, .journalAppendLatency, .journalAppendSize, .journalLastSequence,
        .journalAppliedSequence, .clusterStandbyLag, .clusterCheckpoints, .clusterCheckpointSequence, .journalTrimmed,
        .clusterBootstraps,
    ]
}

extension ClusterNodeState {
    /// The cluster families in the Prometheus text format, appended to `bytes`.
    func renderMetrics(appendingTo bytes: [UInt8] = []) -> [UInt8] {
        let view = view()
        let values = current
        let appends = appendStatistics
        var writer = PrometheusTextWriter(appendingTo: bytes)
        writer.header(.clusterRole)
        for role in [ClusterView.Role.leader, .standby] {
            writer.sample(.clusterRole, [role.rawValue], view.role == role ? 1 : 0)
        }
        writer.header(.clusterEpoch)
        writer.sample(.clusterEpoch, [], Int(view.epoch))
        writer.header(.clusterTerms)
        writer.sample(.clusterTerms, [], values.terms)
        writer.header(.clusterStepDowns)
        for reason in ["lease_lost", "lease_expired", "journal_failed", "failed", "shutdown"] {
            writer.sample(.clusterStepDowns, [reason], values.stepDowns[reason] ?? 0)
        }
        writer.header(.clusterLeaseRenewals)
        writer.sample(.clusterLeaseRenewals, ["renewed"], values.renewals)
        writer.sample(.clusterLeaseRenewals, ["failed"], values.failedRenewals)
        writer.header(.journalAppends)
        writer.sample(.journalAppends, [], appends.appends)
        writer.header(.journalAppendFailures)
        writer.sample(.journalAppendFailures, [], appends.failedAppends)
        writer.header(.journalBytes)
        writer.sample(.journalBytes, [], appends.bytes)
        writer.header(.journalAppendLatency)
        writer.histogram(
            .journalAppendLatency, upperBounds: appends.appendNanoseconds.upperBounds.map { Double($0) / 1e9 },
            cumulativeCounts: appends.appendNanoseconds.cumulativeCounts, count: appends.appendNanoseconds.count,
            sum: Double(appends.appendNanoseconds.sum) / 1e9)
        writer.header(.journalAppendSize)
        writer.histogram(
            .journalAppendSize, upperBounds: appends.appendBytes.upperBounds.map(Double.init),
            cumulativeCounts: appends.appendBytes.cumulativeCounts, count: appends.appendBytes.count,
            sum: Double(appends.appendBytes.sum))
        writer.header(.journalLastSequence)
        writer.sample(.journalLastSequence, [], Int(view.journal?.lastSequence ?? 0))
        writer.header(.journalAppliedSequence)
        writer.sample(.journalAppliedSequence, [], Int(view.journal?.appliedSequence ?? 0))
        writer.header(.clusterStandbyLag)
        writer.sample(.clusterStandbyLag, [], Double(view.journal?.lagMilliseconds ?? 0) / 1_000)
        writer.header(.clusterCheckpoints)
        writer.sample(.clusterCheckpoints, ["taken"], values.checkpoints)
        writer.sample(.clusterCheckpoints, ["failed"], values.failedCheckpoints)
        writer.header(.clusterCheckpointSequence)
        writer.sample(.clusterCheckpointSequence, [], Int(values.lastCheckpointSequence))
        writer.header(.journalTrimmed)
        writer.sample(.journalTrimmed, [], values.trimmedEntries)
        writer.header(.clusterBootstraps)
        writer.sample(.clusterBootstraps, [], values.bootstraps)
        return writer.bytes
    }
}
