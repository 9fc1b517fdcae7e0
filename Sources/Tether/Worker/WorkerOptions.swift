import Configuration
import Foundation
import TetherEngine
import TetherProtocol

/// How a ``Worker`` connects: coordinator address, credentials, identity and capacity.
///
/// Every option defaults to its `TETHER_*` environment variable (docs/operations.md), so a worker
/// started with the env that `tether dev` prints needs no code for them.
public struct WorkerOptions: Sendable {
    /// The coordinator's worker address, `host:port` (`TETHER_COORDINATOR`, default `127.0.0.1:7421`).
    ///
    /// For a cluster, a comma-separated list of its nodes' worker addresses
    /// (`node-a:7421,node-b:7421,node-c:7421`): the worker dials them in turn, from a random one,
    /// until it reaches the leader, and follows a standby that names the leader. A host name
    /// in a list that resolves to several addresses counts as one entry per address. An entry
    /// without a port gets 7421; `[v6addr]:port` works; spaces around entries are ignored.
    /// An empty entry or a bad port makes ``Worker/run()`` throw `invalid_config`.
    public var coordinator: String
    /// The signing key text, `tsk_…` (`TETHER_SIGNING_KEY`). Required.
    public var signingKey: String?
    /// A PEM file of the CA to trust for the coordinator's certificate (`TETHER_CA_FILE`);
    /// nil trusts the system's roots.
    public var caFile: String?
    /// This process's id, unique among workers (`TETHER_INSTANCE_ID`, default host-pid-random).
    public var instanceId: String
    /// Most steps this worker runs at once (`TETHER_MAX_CONCURRENCY`, default 10).
    public var maxConcurrency: Int
    /// The version of the app this worker runs; the coordinator prefers the newest during a rollout.
    public var appVersion: String
    /// Free-form labels shown in the status endpoint.
    public var labels: [String: String]
    /// How long a shutting-down worker waits for its in-flight steps before handing them back.
    public var shutdownGracePeriod: Duration
    /// The host name to verify in the coordinator's certificate; nil uses the host of the
    /// address dialled (the entry of `coordinator`, or the leader a standby named).
    public var serverHostname: String?
    /// How long to wait for TCP + TLS + the handshake.
    public var connectTimeout: Duration
    /// Whether the worker traces the steps the coordinator traces, when the standard `OTEL_*`
    /// variables configure an exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`; docs/operations.md,
    /// "Traces"). Default true; without those variables tracing stays off either way.
    public var tracing: Bool

    /// Options from the environment (`TETHER_*`), with the defaults above. An empty variable
    /// counts as unset; a `TETHER_MAX_CONCURRENCY` that is not an integer is ignored.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        // Each option's variable is TETHER_ and its name in upper snake case (caFile: TETHER_CA_FILE).
        let variables = ConfigReader(
            provider: EnvironmentVariablesProvider(
                environmentVariables: environment.filter { !$0.value.isEmpty },
                secretsSpecifier: .specific(["TETHER_SIGNING_KEY"]))
        ).scoped(to: "tether")
        coordinator = variables.string(forKey: "coordinator", default: "127.0.0.1:\(DefaultPorts.worker)")
        signingKey = variables.string(forKey: "signingKey", isSecret: true)
        caFile = variables.string(forKey: "caFile")
        instanceId =
            variables.string(forKey: "instanceId")
            ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        maxConcurrency = variables.int(forKey: "maxConcurrency", default: 10)
        appVersion = variables.string(forKey: "appVersion", default: "")
        labels = [:]
        shutdownGracePeriod = .seconds(30)
        serverHostname = nil
        connectTimeout = .seconds(10)
        tracing = true
    }

    /// The coordinator addresses of ``coordinator``, in order, or a clear error naming
    /// `TETHER_COORDINATOR`.
    func coordinatorAddresses() throws(TetherError) -> [CoordinatorAddress] {
        try CoordinatorAddress.list(parsing: coordinator)
    }

    /// The parsed signing key, or a clear error.
    func key() throws(TetherError) -> SigningKey {
        guard let signingKey else {
            throw TetherError(
                .invalidConfig, "no signing key: set TETHER_SIGNING_KEY (tether dev prints it) or WorkerOptions.signingKey")
        }
        do {
            return try SigningKey(parsing: signingKey)
        } catch {
            throw TetherError(.invalidConfig, "TETHER_SIGNING_KEY: \(error.message)")
        }
    }
}
