extension CoordinatorCore {
    /// A function known to the coordinator, with what its definition parses to.
    struct FunctionEntry: Sendable {
        var definition: FunctionDefinition
        /// Connections that registered this function.
        var connections: Set<String> = []
        /// Event triggers with their parsed match expressions.
        var eventTriggers: [(name: String, expression: Expression?)] = []
        /// `cancelOn` entries with their parsed match expressions.
        var cancelOn: [(event: String, expression: Expression?)] = []
        /// The parsed idempotency key expression.
        var idempotency: Expression?
        /// The parsed flow-control expressions.
        var flow = FlowExpressions()

        init(_ definition: FunctionDefinition) {
            self.definition = definition
            // Definitions are validated before they are installed; an expression that no longer
            // parses (restored from an older store) is dropped: its trigger matches on the name.
            eventTriggers = definition.triggers.compactMap { trigger in
                guard case .event(let name, let source) = trigger else { return nil }
                return (name, source.flatMap { $0.isEmpty ? nil : try? Expression(parsing: $0) })
            }
            cancelOn = definition.cancelOn.map { entry in
                (entry.event, entry.match.flatMap { try? Expression(parsing: $0) })
            }
            idempotency = definition.idempotency.flatMap { try? Expression(parsing: $0) }
            flow = FlowExpressions(definition.flow)
        }
    }

    /// The functions the coordinator knows, with the connections that registered each and the
    /// index from event names (exact, and `prefix/*`) to the functions they trigger. Only its
    /// methods change it, so the index always matches the definitions.
    struct FunctionRegistry: Sendable {
        private var entries: [String: FunctionEntry] = [:]
        /// Exact event name → function ids.
        private var eventIndex: [String: Set<String>] = [:]
        /// Prefix triggers (`billing/*`, filed as `billing/`) → function ids.
        private var prefixIndex: [String: Set<String>] = [:]

        subscript(id: String) -> FunctionEntry? { entries[id] }

        var ids: Dictionary<String, FunctionEntry>.Keys { entries.keys }
        var all: Dictionary<String, FunctionEntry>.Values { entries.values }

        /// Installs a definition (new, or replacing the one with its id, whose connections it
        /// keeps). Returns whether its flow control changed.
        mutating func install(_ definition: FunctionDefinition) -> Bool {
            let id = definition.id
            var entry = FunctionEntry(definition)
            if let old = entries[id] {
                for trigger in old.definition.triggers { unindex(trigger, functionId: id) }
                entry.connections = old.connections
            }
            let flowChanged = (entries[id]?.flow ?? FlowExpressions()).definition != definition.flow
            entries[id] = entry
            for trigger in definition.triggers {
                guard case .event(let name, _) = trigger else { continue }
                if name.hasSuffix("/*") {
                    prefixIndex[String(name.dropLast(1)), default: []].insert(id)
                } else {
                    eventIndex[name, default: []].insert(id)
                }
            }
            return flowChanged
        }

        mutating func addConnection(_ connectionId: String, to functionId: String) {
            entries[functionId]?.connections.insert(connectionId)
        }

        mutating func removeConnection(_ connectionId: String, from functionId: String) {
            entries[functionId]?.connections.remove(connectionId)
        }

        /// Function ids whose event triggers match `eventName`, sorted for determinism.
        func matching(eventName: String) -> [String] {
            var result = eventIndex[eventName] ?? []
            if !prefixIndex.isEmpty {
                for (prefix, ids) in prefixIndex where eventName.hasPrefix(prefix) {
                    result.formUnion(ids)
                }
            }
            return result.sorted()
        }

        private mutating func unindex(_ trigger: TriggerDefinition, functionId: String) {
            guard case .event(let name, _) = trigger else { return }
            if name.hasSuffix("/*") {
                let prefix = String(name.dropLast(1))
                prefixIndex[prefix]?.remove(functionId)
                if prefixIndex[prefix]?.isEmpty == true { prefixIndex[prefix] = nil }
            } else {
                eventIndex[name]?.remove(functionId)
                if eventIndex[name]?.isEmpty == true { eventIndex[name] = nil }
            }
        }

        /// Every way the index disagrees with the definitions; empty when all hold.
        func invariantViolations() -> [String] {
            var expected: [String: Set<String>] = [:]
            var expectedPrefixes: [String: Set<String>] = [:]
            for (id, entry) in entries {
                for trigger in entry.definition.triggers {
                    guard case .event(let name, _) = trigger else { continue }
                    if name.hasSuffix("/*") {
                        expectedPrefixes[String(name.dropLast(1)), default: []].insert(id)
                    } else {
                        expected[name, default: []].insert(id)
                    }
                }
            }
            var problems: [String] = []
            if expected != eventIndex { problems.append("the event-name index does not match the functions' triggers") }
            if expectedPrefixes != prefixIndex {
                problems.append("the prefix index does not match the functions' triggers")
            }
            for (id, entry) in entries where entry.definition.id != id {
                problems.append("function \(entry.definition.id) is filed under \(id)")
            }
            return problems
        }
    }
}
