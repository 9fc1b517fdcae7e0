extension CoordinatorCore {
    /// A worker finished its handshake: validate and register its functions, then dispatch.
    ///
    /// Throws `invalid_config` (naming the function) when a function or trigger is invalid;
    /// nothing is registered then.
    mutating func applyRegister(_ registration: WorkerRegistration, now: Int64) throws(TetherError) -> Effects {
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

        guard registration.resumed.count <= Self.maxResumedRequests else {
            throw TetherError(
                .invalidConfig, "at most \(Self.maxResumedRequests) resumed requests, got \(registration.resumed.count)")
        }

        var effects = Effects()
        for function in registration.functions {
            if functions[function.id]?.definition != function {
                effects.writes.append(.putFunction(function, updatedAtMilliseconds: now))
                install(function, now: now)
            }
            functions.addConnection(registration.connectionId, to: function.id)
        }
        let connectionId = registration.connectionId
        workers[connectionId] = WorkerState(
            registration: registration, capacity: registration.capacity, connectedAtMilliseconds: now,
            lastHeartbeatAtMilliseconds: now)
        resume(registration, now: now, into: &effects)
        if let worker = workers[connectionId], worker.busy > worker.capacity {
            workers[connectionId]!.overCapacityByWorker = true
        }
        pump(now: now, into: &effects)
        return effects
    }

    /// Most requests a Hello may resume: no worker runs more at once than its capacity allows.
    public static let maxResumedRequests = 100_000

    /// Resumable sessions: the requests a reconnecting worker still has go back to it (their
    /// leases follow the new connection); running ones it lists without a lease still use
    /// its slots; the detached leases of this instance it does not list are lost and go out
    /// again at once.
    mutating func resume(_ registration: WorkerRegistration, now: Int64, into effects: inout Effects) {
        let connectionId = registration.connectionId
        var listed: Set<String> = []
        for request in registration.resumed {
            listed.insert(request.requestId)
            if let lease = leases[request.requestId], lease.runId == request.runId,
                lease.instanceId == registration.instanceId, lease.app == registration.app
            {
                attachLease(request.requestId, to: connectionId, now: now)
            } else if !request.resultHeld {
                // Still running, but no longer leased to it (the run moved on or ended): the
                // body uses a slot until it returns.
                workers[connectionId]?.unleasedBusy.insert(request.requestId)
            }
        }
        let key = Self.instanceKey(app: registration.app, instanceId: registration.instanceId)
        for requestId in leases.detached(instanceKey: key).subtracting(listed).sorted().reversed() {
            requeueLease(requestId, now: now, into: &effects)
        }
    }

    /// A connection ended. After a Goodbye (`resumable` false) its leased steps go back to the
    /// front of their queues at once, without consuming an attempt. Otherwise (the connection
    /// broke, or went silent) they stay leased to the worker instance until their deadline,
    /// so that the worker, if it is alive, resumes them on its next connection instead of
    /// another worker running them a second time.
    mutating func applyDisconnect(connectionId: String, resumable: Bool, now: Int64) -> Effects {
        var effects = Effects()
        guard let worker = workers.removeValue(forKey: connectionId) else { return effects }
        for function in worker.registration.functions {
            functions.removeConnection(connectionId, from: function.id)
        }
        for requestId in worker.inFlight.sorted().reversed() {
            if resumable {
                detachLease(requestId)
            } else {
                requeueLease(requestId, now: now, into: &effects)
            }
        }
        pump(now: now, into: &effects)
        return effects
    }

    /// A heartbeat: the connection is alive, and the listed requests' leases are extended.
    /// Unleased requests it no longer lists have returned, and their slots are free again.
    mutating func applyHeartbeat(connectionId: String, inFlight requestIds: [String], now: Int64) -> Effects {
        var effects = Effects()
        guard let worker = workers[connectionId] else { return effects }
        let deadline = now + Int64(configuration.timing.leaseDurationMilliseconds)
        workers[connectionId]?.lastHeartbeatAtMilliseconds = now
        for requestId in requestIds {
            leases.renew(requestId, heldBy: connectionId, deadline: deadline)
        }
        if !worker.unleasedBusy.isEmpty {
            let still = worker.unleasedBusy.intersection(requestIds)
            if still.count != worker.unleasedBusy.count {
                workers[connectionId]?.unleasedBusy = still
                pump(now: now, into: &effects)
            }
        }
        return effects
    }

    /// Connections heard from at the given times: nothing changes but when they were last heard.
    mutating func applyAlive(_ heard: [String: Int64]) {
        for (connectionId, at) in heard where workers[connectionId] != nil {
            workers[connectionId]!.lastHeartbeatAtMilliseconds = max(workers[connectionId]!.lastHeartbeatAtMilliseconds, at)
        }
    }

    /// Connections silent for longer than `missedHeartbeatsBeforeDead` heartbeat intervals at
    /// `now`, as far as the scheduler knows: the next tick closes them unless ``Command/alive(_:)``
    /// says they were heard from.
    public func silentConnections(now: Int64) -> [String] {
        let timing = configuration.timing
        let silence = Int64(timing.heartbeatIntervalMilliseconds * timing.missedHeartbeatsBeforeDead)
        return workers.values.filter { now - $0.lastHeartbeatAtMilliseconds > silence }.map(\.connectionId)
    }

    /// The worker changed its advertised capacity.
    mutating func applyCapacity(connectionId: String, capacity: Int, now: Int64) -> Effects {
        var effects = Effects()
        guard workers[connectionId] != nil else { return effects }
        workers[connectionId]!.capacity = max(0, min(capacity, 100_000))
        if workers[connectionId]!.busy > workers[connectionId]!.capacity {
            workers[connectionId]!.overCapacityByWorker = true
        }
        workers[connectionId]?.lastHeartbeatAtMilliseconds = now
        pump(now: now, into: &effects)
        return effects
    }

    /// The worker asked for no new steps (it is shutting down).
    mutating func applyPause(connectionId: String, now: Int64) -> Effects {
        workers[connectionId]?.status = .paused
        return Effects()
    }

    /// Picks the connection for a step of `functionId`: among ready workers that registered
    /// it and have a free slot, the newest app version first, then the most free slots, then
    /// the fewest steps dispatched, then the connection id (so the choice never depends on
    /// hashing order).
    func pickWorker(forFunction functionId: String) -> String? {
        guard let connections = functions[functionId]?.connections else { return nil }
        var best: WorkerState?
        for connectionId in connections {
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
                    || (worker.free == current.free
                        && (worker.dispatchedCount, worker.connectionId) < (current.dispatchedCount, current.connectionId)))
            {
                best = worker
            }
        }
        return best?.connectionId
    }
}
