import Foundation

extension RocksDB {
    /// Which handles are open and how many calls are using them.
    struct Lifecycle: Sendable {
        enum Phase: Sendable { case open, reopening, closing, closed }
        var phase: Phase = .open
        var handles: RocksDBHandles?
        /// Calls holding `handles` right now; ``close()`` and ``reopen()`` wait for them.
        var activeCalls = 0
        /// ``reopen()`` calls waiting for `activeCalls` to reach zero.
        var reopenRequests = 0
        /// The error of a failed write that RocksDB does not recover from until reopened.
        var writeFailure: StoreError?
    }

    /// Whether ``close()`` has been called (or a ``reopen()`` failed).
    public var isClosed: Bool {
        lifecycle.withLock { $0.phase == .closing || $0.phase == .closed }
    }

    /// Closes the database: later calls throw `closed`; calls in progress finish first.
    ///
    /// Idempotent and safe from any thread; returns once RocksDB has released the directory,
    /// so the path can be opened again. Also called on deinit. Must not be called from inside
    /// a ``forEach(prefix:after:reverse:_:)`` body (it would wait for itself).
    public func close() {
        let handles: RocksDBHandles? = lifecycle.withLock(waitingUntil: { $0.phase != .reopening }) { state in
            guard state.phase == .open else { return nil }
            state.phase = .closing
            defer { state.handles = nil }
            return state.handles
        }
        guard let handles else {
            lifecycle.withLock(waitingUntil: { $0.phase == .closed }) { _ in }
            return
        }
        lifecycle.withLock(waitingUntil: { $0.activeCalls == 0 }) { _ in }
        handles.destroy()
        lifecycle.withLockWaking { state, wake in
            state.phase = .closed
            wake = true
        }
    }

    /// Closes and reopens the database in place, keeping this object (and the
    /// ``GroupCommitWriter``s on it) usable.
    ///
    /// The way out of RocksDB's background-error state: after a failed WAL write (a full
    /// disk, an I/O error) RocksDB 7.8 refuses every later write with the same error, and its
    /// C API has no `Resume()`. Free the space, then reopen: recovery replays the WAL, and
    /// writes work again. Waits for the calls in progress; new calls wait for the reopen
    /// (except nested ones, so a `forEach` body may still read). If the database cannot be opened again, it is left closed and the error is
    /// thrown. Must not be called from inside a ``forEach(prefix:after:reverse:_:)`` body.
    public func reopen() throws(StoreError) {
        let registered = lifecycle.withLock(waitingUntil: { $0.phase != .reopening }) { state in
            guard state.phase == .open else { return false }
            state.reopenRequests += 1
            return true
        }
        guard registered else { throw StoreError.closed("the database at \(path)") }

        enum Turn { case reopen(RocksDBHandles), doneByAnother, closed }
        let turn: Turn = lifecycle.withLock(waitingUntil: { $0.activeCalls == 0 || $0.phase != .open }) { state in
            state.reopenRequests -= 1
            switch state.phase {
            case .open:
                guard let handles = state.handles else { return .closed }
                state.phase = .reopening
                state.handles = nil
                return .reopen(handles)
            case .reopening:
                return .doneByAnother
            case .closing, .closed:
                return .closed
            }
        }
        switch turn {
        case .closed:
            throw StoreError.closed("the database at \(path)")
        case .doneByAnother:
            let reopened = lifecycle.withLock(waitingUntil: { $0.phase != .reopening }) { $0.phase == .open }
            guard reopened else { throw StoreError.closed("the database at \(path)") }
        case .reopen(let old):
            old.destroy()
            let reopened: Result<RocksDBHandles, StoreError>
            do {
                reopened = .success(try RocksDBHandles.open(path: path, options: options))
            } catch {
                reopened = .failure(error)
            }
            lifecycle.withLockWaking { state, wake in
                switch reopened {
                case .success(let handles):
                    state.handles = handles
                    state.phase = .open
                    state.writeFailure = nil
                case .failure:
                    state.phase = .closed
                }
                wake = true
            }
            _ = try reopened.get()
        }
    }

    // MARK: Keeping the handles alive during a call

    /// Runs `body` with the open handles; ``close()`` waits until it returns.
    func withHandles<R>(_ body: (RocksDBHandles) throws(StoreError) -> R) throws(StoreError) -> R {
        let handles = try enter()
        defer { leave() }
        return try body(handles)
    }

    /// Runs a write with the open handles, after the checks every write needs.
    ///
    /// Refused with `no_space` while the disk is nearly full (``DiskSpaceGuard``). After a
    /// write fails with an I/O error, a full disk or corruption, RocksDB 7.8 is in its
    /// background-error state and refuses every write until reopened; later writes fail
    /// with that first error at once, without touching RocksDB's failed WAL writer.
    func withWritableHandles<R>(
        byteCount: Int,
        _ body: (RocksDBHandles) throws(StoreError) -> R
    ) throws(StoreError) -> R {
        try withHandles { handles throws(StoreError) in
            if let failure = lifecycle.withLock({ $0.writeFailure }) {
                throw failure
            }
            try diskSpace.admit(byteCount: byteCount)
            do throws(StoreError) {
                return try body(handles)
            } catch {
                if Self.stopsWrites(error) {
                    let failure = StoreError(
                        code: error.code,
                        message: "\(error.message) (writes are refused until the database is reopened)"
                    )
                    lifecycle.withLock { state in
                        if state.writeFailure == nil { state.writeFailure = failure }
                    }
                }
                throw error
            }
        }
    }

    private static func stopsWrites(_ error: StoreError) -> Bool {
        error.code == StoreError.Code.ioError || error.code == StoreError.Code.noSpace
            || error.code == StoreError.Code.corruption
    }

    /// Marks a call in progress and returns the handles; pair with ``leave()``.
    ///
    /// Waits while the database is closed for a ``reopen()``, and also while a reopen waits
    /// for the calls in progress, unless this thread is itself inside a call (a `forEach`
    /// body reading more): the reopen cannot be starved, and nested calls cannot deadlock.
    func enter() throws(StoreError) -> RocksDBHandles {
        let nested = CallDepth.current > 0
        let handles: RocksDBHandles? = lifecycle.withLock(
            waitingUntil: { state in
                state.phase != .reopening && (nested || state.reopenRequests == 0 || state.phase != .open)
            }
        ) { state in
            guard state.phase == .open, let handles = state.handles else { return nil }
            state.activeCalls += 1
            return handles
        }
        guard let handles else { throw StoreError.closed("the database at \(path)") }
        CallDepth.current += 1
        return handles
    }

    /// Ends a call started with ``enter()``, waking ``close()`` or ``reopen()`` if it was the
    /// last one.
    func leave() {
        CallDepth.current -= 1
        lifecycle.withLockWaking { state, wake in
            state.activeCalls -= 1
            wake = state.activeCalls == 0 && (state.phase == .closing || state.reopenRequests > 0)
        }
    }
}

/// How many ``RocksDB`` calls the current thread is inside (a thread-local counter).
private enum CallDepth {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    static var current: Int {
        get { Int(bitPattern: pthread_getspecific(key)) }
        set { pthread_setspecific(key, UnsafeRawPointer(bitPattern: newValue)) }
    }
}
