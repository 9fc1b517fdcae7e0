extension CoordinatorCore {
    /// A worker finished its handshake: validate and register its functions, then dispatch.
    ///
    /// Throws `invalid_config` (naming the function) when a function or trigger is invalid;
    /// nothing is registered then.
    public mutating func register(_ registration: WorkerRegistration, now: Int64) throws(TetherError) -> Effects {
        let limits = configuration.limits
        guard workers[registration.connectionId] == nil else {
            throw TetherError(.protocolError, "connection \(registration.connectionId) is already registered")
        }
        guard (0...100_000).contains(registration.capacity) else {
            throw TetherError(.invalidConfig, "capacity must be between 0 and 100000, got \(registration.capacity)")
        }
        guard FunctionDefinition.isValidName(registration.app, limits: limits) else {
            throw TetherError(
                .invalidConfig, "app name '\(registration.app)' must be 1-\(limits.maxIdentifierBytes) characters of A-Z a-z 0-9 . _ -")
        }
        guard registration.functions.count <= limits.maxFunctionsPerWorker else {
            throw TetherError(.invalidConfig, "at most \(limits.maxFunctionsPerWorker) functions per worker")
        }
        var seen: Set<String> = []
        for function in registration.functions {
            guard function.app == registration.app else {
                throw TetherError(.invalidConfig, "function '\(function.slug)' belongs to app '\(function.app)', not '\(registration.app)'")
            }
            guard seen.insert(function.slug).inserted else {
                throw TetherError(.invalidConfig, "function '\(function.slug)' is registered twice")
            }
            try function.validate(limits: limits)
        }

        var effects = Effects()
        for function in registration.functions {
            if functions[function.id]?.definition != function {
                effects.writes.append(.putFunction(function, updatedAtMilliseconds: now))
                install(function, now: now)
            }
            functions[function.id]?.connections.insert(registration.connectionId)
        }
        workers[registration.connectionId] = WorkerState(
            registration: registration, capacity: registration.capacity, connectedAtMilliseconds: now,
            lastHeartbeatAtMilliseconds: now)
        pump(now: now, into: &effects)
        return effects
    }

    /// A connection ended (closed, failed, or declared dead): its leased steps go back to the
    /// front of their queues without consuming an attempt.
    public mutating func disconnect(connectionId: String, now: Int64) -> Effects {
        var effects = Effects()
        guard let worker = workers.removeValue(forKey: connectionId) else { return effects }
        for function in worker.registration.functions {
            functions[function.id]?.connections.remove(connectionId)
        }
        for requestId in worker.inFlight.sorted().reversed() {
            guard let lease = releaseLease(requestId) else { continue }
            enqueue(lease.item, now: now, atFront: true)
            advance(runId: lease.runId, now: now)
        }
        pump(now: now, into: &effects)
        return effects
    }

    /// A heartbeat: the connection is alive, and the listed requests' leases are extended.
    /// Returns the new lease deadline.
    @discardableResult
    public mutating func heartbeat(connectionId: String, inFlight requestIds: [String], now: Int64) -> Int64 {
        let deadline = now + Int64(configuration.timing.leaseDurationMilliseconds)
        guard workers[connectionId] != nil else { return deadline }
        workers[connectionId]?.lastHeartbeatAtMilliseconds = now
        for requestId in requestIds {
            if leases[requestId]?.connectionId == connectionId {
                leases[requestId]?.deadlineMilliseconds = deadline
            }
        }
        return deadline
    }

    /// The worker changed its advertised capacity.
    public mutating func updateCapacity(connectionId: String, capacity: Int, now: Int64) -> Effects {
        var effects = Effects()
        guard workers[connectionId] != nil else { return effects }
        workers[connectionId]?.capacity = max(0, min(capacity, 100_000))
        workers[connectionId]?.lastHeartbeatAtMilliseconds = now
        pump(now: now, into: &effects)
        return effects
    }

    /// The worker asked for no new steps (it is shutting down).
    public mutating func pause(connectionId: String, now: Int64) {
        workers[connectionId]?.status = .paused
    }

    /// Picks the connection for a step of `functionId`: among ready workers that registered
    /// it and have a free slot, the newest app version first, then the most free slots.
    func pickWorker(forFunction functionId: String) -> String? {
        guard let entry = functions[functionId] else { return nil }
        var best: WorkerState?
        for connectionId in entry.connections {
            guard let worker = workers[connectionId], worker.free > 0 else { continue }
            guard let current = best else {
                best = worker
                continue
            }
            let version = worker.registration.appVersion
            let currentVersion = current.registration.appVersion
            if AppVersion.isNewer(version, than: currentVersion) {
                best = worker
            } else if version == currentVersion
                && (worker.free > current.free
                    || (worker.free == current.free && worker.dispatchedCount < current.dispatchedCount))
            {
                best = worker
            }
        }
        return best?.connectionId
    }
}
