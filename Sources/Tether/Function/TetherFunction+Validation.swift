import TetherEngine

extension TetherFunction {
    /// Checks a worker's functions before it connects, with the coordinator's own rules
    /// (`FunctionDefinition.validate`), so a mistake fails at startup with a clear message rather than
    /// as a rejected handshake.
    ///
    /// - Parameters:
    ///   - functions: The worker's functions.
    ///   - app: The app name, checked too when given.
    ///   - limits: Identifier length and the number of functions per worker.
    /// - Throws: `TetherError` with code `invalid_config` naming the function and what to fix.
    static func validate(_ functions: [TetherFunction], app: String? = nil, limits: Limits = .default)
        throws(TetherError)
    {
        if let app, !isValidIdentifier(app, limits: limits) {
            throw TetherError(
                .invalidConfig,
                "App name \"\(app)\" must be 1 to \(limits.maxIdentifierBytes) characters of A-Z a-z 0-9 . _ -."
            )
        }
        let handlers = functions.filter { $0.invokeOnFailure != nil }.count
        if functions.count + handlers > limits.maxFunctionsPerWorker {
            let counted = handlers == 0 ? "" : " (\(handlers) of them onFailure handlers)"
            throw TetherError(
                .invalidConfig,
                "A worker may register at most \(limits.maxFunctionsPerWorker) functions; "
                    + "this one has \(functions.count + handlers)\(counted)."
            )
        }
        var seen = Set<String>()
        for function in functions {
            try function.validate(app: app, limits: limits)
            if !seen.insert(function.id).inserted {
                throw TetherError(
                    .invalidConfig,
                    "Two functions have the id \"\(function.id)\"; function ids must be unique within a worker."
                )
            }
        }
        for function in functions {
            if let handlerId = function.failureHandlerId, seen.contains(handlerId) {
                throw TetherError(
                    .invalidConfig,
                    "Function \"\(function.id)\" has an onFailure handler, registered as \"\(handlerId)\", but "
                        + "another function already has that id; rename one of them."
                )
            }
        }
    }

    /// Checks one function's id, triggers, retries and configuration, and its `onFailure` handler's id.
    ///
    /// - Parameters:
    ///   - app: The app name, when known; only used in the engine's messages.
    ///   - limits: Identifier and duration limits.
    func validate(app: String? = nil, limits: Limits = .default) throws(TetherError) {
        func invalid(_ problem: String) -> TetherError {
            TetherError(.invalidConfig, "Function \"\(id.count > 60 ? id.prefix(60) + "…" : id)\": \(problem)")
        }
        if id.isEmpty {
            throw TetherError(.invalidConfig, "A function has an empty id; give every TetherFunction a non-empty id.")
        }
        if id.utf8.count > limits.maxIdentifierBytes {
            throw invalid("the id is \(id.utf8.count) bytes; the limit is \(limits.maxIdentifierBytes).")
        }
        if !Self.isValidIdentifier(id, limits: limits) {
            throw invalid("the id may only use the characters A-Z a-z 0-9 . _ - (try \"\(Self.suggestedId(id))\").")
        }
        if triggers.isEmpty {
            throw invalid("it has no trigger; pass trigger: .event(\"…\") or .cron(\"…\").")
        }
        if triggers.count > Self.maxTriggers {
            throw invalid("it has \(triggers.count) triggers; the limit is \(Self.maxTriggers).")
        }
        if let retries, !(0...FunctionDefinition.maxRetries).contains(retries) {
            throw invalid("retries: \(retries) must be between 0 and \(FunctionDefinition.maxRetries).")
        }
        for (index, trigger) in triggers.enumerated() {
            let which = triggers.count == 1 ? "its trigger" : "trigger \(index + 1)"
            if let problem = trigger.definition.problem(limits: limits) {
                throw invalid("\(which): \(problem).")
            }
        }
        if let handlerId = failureHandlerId, handlerId.utf8.count > limits.maxIdentifierBytes {
            throw invalid(
                "its onFailure handler is registered as \"\(id)\(Self.failureHandlerSuffix)\", \(handlerId.utf8.count) "
                    + "bytes; the limit is \(limits.maxIdentifierBytes). Shorten the id.")
        }
        for (label, timeout) in [("start", timeouts?.start), ("finish", timeouts?.finish)] {
            if let timeout, timeout <= .zero {
                throw invalid("timeouts.\(label) is \(timeout); it must be positive (leave it nil for no limit).")
            }
        }
        // The coordinator's own rules for the rest of the configuration (cancelOn, timeouts, idempotency, flow
        // control).
        let definition = definition(app: app)
        do {
            try definition.validate(limits: limits)
        } catch {
            let prefix = "function '\(definition.slug)' of app '\(definition.app)': "
            let problem =
                error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
            throw invalid("\(problem).")
        }
    }

    /// The function as the coordinator will see it once registered by `app` (a placeholder when unknown).
    func definition(app: String?) -> FunctionDefinition {
        let config = self.config
        return FunctionDefinition(
            app: app ?? "app",
            slug: id,
            name: name ?? id,
            triggers: triggers.map(\.definition),
            retries: retries ?? FunctionDefinition.defaultRetries,
            cancelOn: cancelOn.map { CancelOnDefinition(event: $0.event, match: $0.match) },
            timeoutStartMilliseconds: config.timeoutStartMs,
            timeoutFinishMilliseconds: config.timeoutFinishMs,
            idempotency: idempotency,
            flow: flow
        )
    }

    /// Most triggers one function may have (the coordinator's rule).
    static let maxTriggers = 10

    /// The coordinator's rule for app names and function ids: 1 to 256 bytes of `A-Z a-z 0-9 . _ -`.
    static func isValidIdentifier(_ id: String, limits: Limits) -> Bool {
        guard !id.isEmpty, id.utf8.count <= limits.maxIdentifierBytes else { return false }
        return id.utf8.allSatisfy(isIdentifierByte)
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2E || byte == 0x5F || byte == 0x2D
    }

    /// `id` with every disallowed character replaced by `-`, such as `orders/created` → `orders-created`.
    private static func suggestedId(_ id: String) -> String {
        String(decoding: id.utf8.map { isIdentifierByte($0) ? $0 : UInt8(ascii: "-") }, as: UTF8.self)
    }
}
