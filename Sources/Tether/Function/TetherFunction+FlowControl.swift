import TetherEngine

// Flow control: modifiers that return a copy of the function with one more setting, enforced by the
// coordinator. A `key` is an expression over `event`, such as `"event.data.customerId"`; each of its
// values (compared as JSON, a missing path being `null`) gets its own limit. The worker checks every
// setting before it connects and fails with `invalid_config` naming the bad one. A function's
// `onFailure` handler has none of its flow control.

extension TetherFunction {
    /// Limits how many of the function's steps run at once, across all workers.
    ///
    /// ```swift
    /// let sync = TetherFunction("sync-contacts", trigger: .event("crm/updated")) { … }
    ///     .concurrency(limit: 50)
    ///     .concurrency(limit: 2, key: "event.data.customerId")
    /// ```
    ///
    /// A step over the limit waits in the queue until a running one finishes; nothing is dropped. Sleeping and
    /// waiting runs hold no place. With a key, the queue drains fairly across the key's values, so one busy
    /// customer cannot starve the others. Call it twice (at most) for a function-wide and a per-key limit.
    ///
    /// - Parameters:
    ///   - limit: The most steps running at once, 1 to 1,000,000.
    ///   - key: An expression over `event`; each value gets its own limit. `nil` limits the whole function.
    public func concurrency(limit: Int, key: String? = nil) -> TetherFunction {
        withFlow { $0.concurrency.append(ConcurrencyLimit(limit: limit, key: key)) }
    }

    /// Limits how many runs start per period, queueing the rest.
    ///
    /// ```swift
    /// let enrich = TetherFunction("enrich-lead", trigger: .event("lead/created")) { … }
    ///     .throttle(limit: 10, per: .seconds(60), key: "event.data.workspaceId")
    /// ```
    ///
    /// Starts are spread evenly, one every `period / limit`, with `burst + 1` at once after a quiet spell: in
    /// any window of `period`, at most `limit + burst` runs start, and with `burst` 0 (the default) at most
    /// `limit`. Excess runs wait in the queue and start later; none is dropped (use
    /// ``rateLimit(limit:per:key:)`` to drop them). Calling it again replaces the throttle.
    ///
    /// - Parameters:
    ///   - limit: Run starts per period, 1 to 1,000,000.
    ///   - period: The period, rounded up to whole milliseconds, at most 7 days.
    ///   - burst: Runs that may start ahead of the even spacing, 0 to 1,000,000: `burst + 1` start at once after
    ///     a quiet spell, and a period may hold `limit + burst` starts.
    ///   - key: An expression over `event`; each value gets its own throttle. `nil` throttles the whole function.
    public func throttle(limit: Int, per period: Duration, burst: Int = 0, key: String? = nil) -> TetherFunction {
        withFlow {
            $0.throttle = Throttle(
                limit: limit, periodMilliseconds: period.roundedUpMilliseconds, burst: burst, key: key)
        }
    }

    /// Limits how many runs start per period, dropping the rest.
    ///
    /// ```swift
    /// let notify = TetherFunction("notify-user", trigger: .event("alert/raised")) { … }
    ///     .rateLimit(limit: 1, per: .seconds(3_600), key: "event.data.userId")
    /// ```
    ///
    /// An event over the limit starts no run of this function, now or later; `POST /v1/events` lists it under
    /// `skipped` with reason `rate_limited`. Calling it again replaces the rate limit.
    ///
    /// - Parameters:
    ///   - limit: Runs per period, 1 to 1,000,000.
    ///   - period: The period, rounded up to whole milliseconds, at most 7 days.
    ///   - key: An expression over `event`; each value gets its own limit. `nil` limits the whole function.
    public func rateLimit(limit: Int, per period: Duration, key: String? = nil) -> TetherFunction {
        withFlow {
            $0.rateLimit = RateLimit(limit: limit, periodMilliseconds: period.roundedUpMilliseconds, key: key)
        }
    }

    /// Starts one run per burst of events, once they have been quiet for `period`, with the last event.
    ///
    /// ```swift
    /// let reindex = TetherFunction("reindex-document", trigger: .event("document/edited")) { … }
    ///     .debounce(.seconds(30), key: "event.data.documentId", timeout: .seconds(600))
    /// ```
    ///
    /// Each event of a burst pushes the start back by `period` and replaces the one before it, so the run sees
    /// only the last; the earlier ones start nothing. `POST /v1/events` lists every such event under `deferred`
    /// with reason `debounced`. Cannot be combined with ``batchEvents(maxSize:timeout:key:)``. Calling it again
    /// replaces the debounce.
    ///
    /// - Parameters:
    ///   - period: The quiet time before the run starts, rounded up to whole milliseconds, at most 7 days.
    ///   - key: An expression over `event`; each value is debounced on its own. `nil` debounces the whole function.
    ///   - timeout: The longest a burst may delay its run, counted from its first event, at least `period`;
    ///     `nil` or zero: no maximum.
    public func debounce(_ period: Duration, key: String? = nil, timeout: Duration? = nil) -> TetherFunction {
        withFlow {
            $0.debounce = Debounce(
                periodMilliseconds: period.roundedUpMilliseconds, key: key,
                timeoutMilliseconds: timeout?.roundedUpMilliseconds ?? 0)
        }
    }

    /// Starts one run for several events at once: `ctx.events` holds them all, oldest first.
    ///
    /// ```swift
    /// let importRows = TetherFunction("import-rows", trigger: .event("row/added")) { (ctx: Context<Row>) in
    ///     try await ctx.step.run("insert") { try await db.insert(ctx.events.map(\.data)) }
    /// }
    /// .batchEvents(maxSize: 100, timeout: .seconds(5), key: "event.data.tableId")
    /// ```
    ///
    /// A run starts when `maxSize` events (per key) are collected, or `timeout` after the first one, whichever
    /// comes first; no event is dropped. `POST /v1/events` lists an event that joins a batch under `deferred` with
    /// reason `batched` (the one that fills it gets the run). Cannot be combined with ``debounce(_:key:timeout:)``.
    /// Calling it again replaces the batching.
    ///
    /// - Parameters:
    ///   - maxSize: The most events per run, 1 to 1,000.
    ///   - timeout: The longest the first event of a batch waits, rounded up to whole milliseconds, at most 7 days.
    ///   - key: An expression over `event`; each value gets its own batches. `nil` batches the whole function.
    public func batchEvents(maxSize: Int, timeout: Duration, key: String? = nil) -> TetherFunction {
        withFlow {
            $0.batchEvents = BatchEvents(
                maxSize: maxSize, timeoutMilliseconds: timeout.roundedUpMilliseconds, key: key)
        }
    }

    /// Moves runs ahead in (or back in) the function's queue by a number of seconds computed from their event.
    ///
    /// ```swift
    /// let support = TetherFunction("answer-ticket", trigger: .event("ticket/opened")) { … }
    ///     .priority("event.data.boostSeconds")
    /// ```
    ///
    /// A run whose expression gives 60 is dispatched as if it had been queued a minute earlier; -60, a minute
    /// later. The value is clamped to -600…600, and anything but a number counts as 0. Priority only orders the
    /// queue: it starts or drops nothing. Calling it again replaces the priority.
    ///
    /// - Parameter expression: An expression over `event` (not `async`) giving seconds.
    public func priority(_ expression: String) -> TetherFunction {
        withFlow { $0.priority = expression }
    }

    /// Allows at most one active run of the function (per key) at a time.
    ///
    /// ```swift
    /// let sync = TetherFunction("sync-account", trigger: .event("account/changed")) { … }
    ///     .singleton(key: "event.data.accountId", mode: .skip)
    /// ```
    ///
    /// With ``SingletonMode/skip``, an event that arrives while a run with its key is active starts no run, and
    /// `POST /v1/events` lists it under `skipped` with reason `singleton`. With ``SingletonMode/cancel``, the
    /// active run is cancelled and the new event starts one. Calling it again replaces the setting.
    ///
    /// - Parameters:
    ///   - key: An expression over `event`; each value may have one active run. `nil`: one for the whole function.
    ///   - mode: Whether the new event or the active run gives way.
    public func singleton(key: String? = nil, mode: SingletonMode) -> TetherFunction {
        withFlow { $0.singleton = Singleton(key: key, mode: mode.engineMode) }
    }

    /// A copy of the function with `change` applied to its flow control.
    private func withFlow(_ change: (inout FlowControl) -> Void) -> TetherFunction {
        var copy = self
        change(&copy.flow)
        return copy
    }
}
