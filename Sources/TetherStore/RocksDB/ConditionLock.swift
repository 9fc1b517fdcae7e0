import Foundation

/// A value guarded by an `NSCondition`: lock it, wait on it, wake its waiters.
///
/// The storage layer's one synchronisation primitive. `NIOConcurrencyHelpers` is not a
/// dependency of this target, and `Synchronization.Mutex` has no condition variable.
final class ConditionLock<State: Sendable>: @unchecked Sendable {
    // `state` is only read or written while `condition` is locked.
    private let condition = NSCondition()
    private var state: State

    init(_ state: State) {
        self.state = state
    }

    /// Runs `body` with the lock held.
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }

    /// Runs `body` with the lock held; if `body` sets its second argument, wakes every waiter.
    func withLockWaking<R>(_ body: (inout State, inout Bool) throws -> R) rethrows -> R {
        condition.lock()
        var wake = false
        defer {
            if wake { condition.broadcast() }
            condition.unlock()
        }
        return try body(&state, &wake)
    }

    /// Waits (without spinning) until `predicate` holds, then runs `body` with the lock held.
    func withLock<R>(waitingUntil predicate: (State) -> Bool, _ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        while !predicate(state) {
            condition.wait()
        }
        return try body(&state)
    }
}
