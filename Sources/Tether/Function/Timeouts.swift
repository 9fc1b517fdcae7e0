/// How long a run may wait to start, and take to finish, before the coordinator cancels it.
///
/// ```swift
/// TetherFunction("send-digest", trigger: .cron("0 8 * * *"), timeouts: Timeouts(start: .seconds(600))) { … }
/// ```
///
/// A run cancelled by a timeout ends with code `run_timed_out`.
public struct Timeouts: Sendable, Hashable {
    /// The longest a run may wait, from its creation, for its first step to be dispatched; `nil` is no limit.
    public let start: Duration?
    /// The longest a run may take, from its start, to finish (sleeps and waits included); `nil` is no limit.
    public let finish: Duration?

    /// Creates run timeouts; each must be positive and at most a year, and `nil` means no limit.
    ///
    /// - Parameters:
    ///   - start: The longest a run may wait to start.
    ///   - finish: The longest a run may take once started.
    public init(start: Duration? = nil, finish: Duration? = nil) {
        self.start = start
        self.finish = finish
    }
}
