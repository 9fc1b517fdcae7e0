import TetherEngine

extension TetherFunction {
    /// Checks a worker's functions before it connects, so a mistake fails at startup with a clear message
    /// rather than as a rejected handshake.
    ///
    /// - Throws: `TetherError` with code `invalid_config` naming the function and what to fix.
    static func validate(_ functions: [TetherFunction], limits: Limits = .default) throws(TetherError) {
        if functions.count > limits.maxFunctionsPerWorker {
            throw TetherError(
                .invalidConfig,
                "A worker may register at most \(limits.maxFunctionsPerWorker) functions; this one has \(functions.count)."
            )
        }
        var seen = Set<String>()
        for function in functions {
            try function.validate(limits: limits)
            if !seen.insert(function.id).inserted {
                throw TetherError(
                    .invalidConfig,
                    "Two functions have the id \"\(function.id)\"; function ids must be unique within a worker."
                )
            }
        }
    }

    /// Checks one function's id, triggers and retries.
    func validate(limits: Limits = .default) throws(TetherError) {
        if id.isEmpty {
            throw TetherError(.invalidConfig, "A function has an empty id; give every TetherFunction a non-empty id.")
        }
        if id.utf8.count > limits.maxIdentifierBytes {
            throw TetherError(
                .invalidConfig,
                "Function id \"\(id.prefix(40))…\" is \(id.utf8.count) bytes; the limit is \(limits.maxIdentifierBytes)."
            )
        }
        if triggers.isEmpty {
            throw TetherError(
                .invalidConfig,
                "Function \"\(id)\" has no trigger; pass trigger: .event(\"…\") or .cron(\"…\")."
            )
        }
        for trigger in triggers {
            switch trigger.kind {
            case .event(let name, _) where name.isEmpty:
                throw TetherError(.invalidConfig, "Function \"\(id)\" has an event trigger with an empty event name.")
            case .cron(let schedule, _) where schedule.split(whereSeparator: \.isWhitespace).count != 5:
                throw TetherError(
                    .invalidConfig,
                    "Function \"\(id)\" has cron schedule \"\(schedule)\"; use 5 fields: minute hour day month weekday."
                )
            default:
                break
            }
        }
        if let retries, retries < 0 {
            throw TetherError(.invalidConfig, "Function \"\(id)\" has retries: \(retries); use 0 or more.")
        }
    }
}
