import Dispatch
import Foundation

/// Runs every task of one request (the function's body and its `async let` and task-group children), and tells
/// when none of them can run.
///
/// Parallel steps are collected by letting the body run until it is quiescent: every task either parked at a
/// step or waiting for something outside the request. Guessing that moment with a few `Task.yield()`s misses
/// siblings the global executor starts late (a loaded machine); here it is observed: no job of the request is
/// queued or running. Jobs run on Dispatch's global queue, like the default executor's.
final class RequestExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = DispatchQueue.global()
    private let lock = NSLock()
    private var pending = 0
    private var onIdle: (@Sendable () -> Void)?

    /// `onIdle` runs (on the request's queue) each time the last runnable job has run.
    func setOnIdle(_ handler: @escaping @Sendable () -> Void) {
        lock.withLock { onIdle = handler }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        lock.withLock { pending += 1 }
        queue.async {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
            let handler = self.lock.withLock { () -> (@Sendable () -> Void)? in
                self.pending -= 1
                return self.pending == 0 ? self.onIdle : nil
            }
            handler?()
        }
    }

    /// True when no job of the request is queued or running.
    var isIdle: Bool {
        lock.withLock { pending == 0 }
    }
}
