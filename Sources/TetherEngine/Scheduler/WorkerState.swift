/// What a worker declared in its handshake.
public struct WorkerRegistration: Sendable, Equatable {
    public var connectionId: String
    public var instanceId: String
    public var app: String
    public var appVersion: String
    public var sdk: String
    public var capacity: Int
    public var labels: [String: String]
    public var functions: [FunctionDefinition]
    /// Requests carried over from an earlier connection of this instance (resumable sessions).
    public var resumed: [ResumedRequest]

    public init(
        connectionId: String, instanceId: String, app: String, appVersion: String = "", sdk: String = "",
        capacity: Int, labels: [String: String] = [:], functions: [FunctionDefinition], resumed: [ResumedRequest] = []
    ) {
        self.connectionId = connectionId
        self.instanceId = instanceId
        self.app = app
        self.appVersion = appVersion
        self.sdk = sdk
        self.capacity = capacity
        self.labels = labels
        self.functions = functions
        self.resumed = resumed
    }
}

/// A connected worker as the scheduler sees it: capacity, leased requests, liveness.
public struct WorkerState: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Takes new steps.
        case ready
        /// Asked for no new steps (shutting down); finishes what it holds.
        case paused
    }

    public var registration: WorkerRegistration
    public var capacity: Int
    /// Request ids leased to this worker.
    public var inFlight: Set<String> = []
    /// Request ids the worker still runs without a lease (resumed after a reconnect, but their
    /// run moved on or ended): they use slots until a heartbeat stops listing them or their
    /// result arrives, so the worker never runs more steps than its capacity.
    public var unleasedBusy: Set<String> = []
    public var status: Status = .ready
    public var connectedAtMilliseconds: Int64
    public var lastHeartbeatAtMilliseconds: Int64
    /// Steps dispatched to this worker since it connected.
    public var dispatchedCount: Int = 0
    /// The worker runs more than its capacity by its own doing: it resumed more steps than it
    /// has slots, or lowered its capacity below what it runs. Cleared by the next dispatch,
    /// which needs a free slot: the coordinator itself never fills a worker past its capacity.
    public internal(set) var overCapacityByWorker = false

    public var connectionId: String { registration.connectionId }

    /// A request went out to this worker (which had a free slot).
    mutating func recordDispatch(_ requestId: String) {
        inFlight.insert(requestId)
        dispatchedCount += 1
        overCapacityByWorker = false
    }
    /// Slots this worker can take now.
    public var free: Int { status == .ready ? max(0, capacity - busy) : 0 }
    /// Slots in use: leased requests and unleased ones still running.
    public var busy: Int { inFlight.count + unleasedBusy.count }
    /// The key under which leases wait for this worker instance to come back.
    var instanceKey: String { CoordinatorCore.instanceKey(app: registration.app, instanceId: registration.instanceId) }
}

/// Orders app versions: numeric components compare as numbers ("1.10" > "1.9"), others as text.
enum AppVersion {
    static func isNewer(_ lhs: String, than rhs: String) -> Bool {
        if lhs == rhs { return false }
        let left = lhs.split(whereSeparator: { $0 == "." || $0 == "-" || $0 == "+" })
        let right = rhs.split(whereSeparator: { $0 == "." || $0 == "-" || $0 == "+" })
        for (a, b) in zip(left, right) where a != b {
            if let x = Int(a), let y = Int(b) { return x > y }
            return a > b
        }
        return left.count > right.count
    }
}
