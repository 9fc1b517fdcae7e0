import TetherEngine

// Flow control on the wire (`FunctionConfig` fields 9–15). An empty key or priority string is nil;
// an absent message is nil; counts are clamped to `uint32`, so a negative one arrives as 0 and fails
// validation there.

extension FlowControl {
    /// The flow control a worker registered in its Hello.
    public init(_ config: Tether_V1_FunctionConfig) {
        self.init(
            concurrency: config.concurrency.map { ConcurrencyLimit(limit: Int($0.limit), key: $0.key) },
            throttle: config.hasThrottle
                ? Throttle(
                    limit: Int(config.throttle.limit), periodMilliseconds: config.throttle.periodMs,
                    burst: Int(config.throttle.burst), key: config.throttle.key)
                : nil,
            rateLimit: config.hasRateLimit
                ? RateLimit(
                    limit: Int(config.rateLimit.limit), periodMilliseconds: config.rateLimit.periodMs,
                    key: config.rateLimit.key)
                : nil,
            debounce: config.hasDebounce
                ? Debounce(
                    periodMilliseconds: config.debounce.periodMs, key: config.debounce.key,
                    timeoutMilliseconds: config.debounce.timeoutMs)
                : nil,
            batchEvents: config.hasBatchEvents
                ? BatchEvents(
                    maxSize: Int(config.batchEvents.maxSize), timeoutMilliseconds: config.batchEvents.timeoutMs,
                    key: config.batchEvents.key)
                : nil,
            priority: config.priority,
            singleton: config.hasSingleton
                ? Singleton(key: config.singleton.key, mode: Singleton.Mode(config.singleton.mode)) : nil)
    }
}

extension Singleton.Mode {
    /// A mode this coordinator does not know (from a newer worker) reads as `skip`, which never
    /// cancels a run.
    init(_ mode: Tether_V1_Singleton.Mode) {
        switch mode {
        case .cancel: self = .cancel
        case .skip, .UNRECOGNIZED: self = .skip
        }
    }
}

extension Tether_V1_FunctionConfig {
    /// Sets the flow-control fields from `flow`, clearing the ones it leaves unset.
    public mutating func setFlow(_ flow: FlowControl) {
        concurrency = flow.concurrency.map { limit in
            .with {
                $0.limit = UInt32(clamping: limit.limit)
                $0.key = limit.key ?? ""
            }
        }
        if let throttle = flow.throttle {
            self.throttle = .with {
                $0.limit = UInt32(clamping: throttle.limit)
                $0.periodMs = throttle.periodMilliseconds
                $0.burst = UInt32(clamping: throttle.burst)
                $0.key = throttle.key ?? ""
            }
        } else {
            clearThrottle()
        }
        if let rateLimit = flow.rateLimit {
            self.rateLimit = .with {
                $0.limit = UInt32(clamping: rateLimit.limit)
                $0.periodMs = rateLimit.periodMilliseconds
                $0.key = rateLimit.key ?? ""
            }
        } else {
            clearRateLimit()
        }
        if let debounce = flow.debounce {
            self.debounce = .with {
                $0.periodMs = debounce.periodMilliseconds
                $0.key = debounce.key ?? ""
                $0.timeoutMs = debounce.timeoutMilliseconds
            }
        } else {
            clearDebounce()
        }
        if let batchEvents = flow.batchEvents {
            self.batchEvents = .with {
                $0.maxSize = UInt32(clamping: batchEvents.maxSize)
                $0.timeoutMs = batchEvents.timeoutMilliseconds
                $0.key = batchEvents.key ?? ""
            }
        } else {
            clearBatchEvents()
        }
        priority = flow.priority ?? ""
        if let singleton = flow.singleton {
            self.singleton = .with {
                $0.key = singleton.key ?? ""
                $0.mode = singleton.mode == .cancel ? .cancel : .skip
            }
        } else {
            clearSingleton()
        }
    }
}
