/// The coordinator's default ports, shared by the coordinator (its listeners) and the worker SDK
/// (the address it dials when `TETHER_COORDINATOR` is unset or names no port), so they are
/// written once.
public enum DefaultPorts {
    /// HTTP API, dashboard and health.
    public static let http = 7420
    /// Workers (TLS).
    public static let worker = 7421
}
