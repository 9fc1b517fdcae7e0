extension Expression {
    /// The root a path starts from: the triggering `event`, or `async`, the event a wait is matched against.
    public enum Root: String, Sendable, Hashable, CaseIterable {
        /// `event`: the event that triggered the run.
        case event
        /// `async`: the incoming event a `waitForEvent` or `cancelOn` match is tested against.
        case async
    }

    /// The value at `path` inside `value`, or `null` when any step is missing or of the wrong type.
    public static func resolve(_ path: [PathComponent], in value: JSONValue) -> JSONValue {
        var current = value
        for component in path {
            let next: JSONValue?
            switch component {
            case .key(let key): next = current[key]
            case .index(let index): next = current[index]
            }
            guard let next else { return .null }
            current = next
        }
        return current
    }

    /// The distinct paths under `root` that the expression reads, in order of first appearance.
    ///
    /// `event.data.id == async.data.id && event.name != ""` gives `[[.key("data"), .key("id")], [.key("name")]]`
    /// for `.event`. A bare `event` gives the empty path.
    public func paths(root: Root) -> [[PathComponent]] {
        var found: [[PathComponent]] = []
        var seen: Set<[PathComponent]> = []
        func visit(_ node: ExpressionNode) {
            switch node {
            case .literal:
                break
            case .path(let pathRoot, let components):
                if pathRoot == root, seen.insert(components).inserted { found.append(components) }
            case .not(let operand), .negate(let operand):
                visit(operand)
            case .and(let terms), .or(let terms):
                terms.forEach(visit)
            case .chain(let first, let links):
                visit(first)
                links.forEach { visit($0.operand) }
            }
        }
        visit(self.root)
        return found
    }

    /// The `async.… == event.…` comparisons (either order) that the whole expression requires:
    /// those at the top level or joined to it by `&&` only.
    ///
    /// A wait index can key waits by the event-side value and look up incoming events by the
    /// async-side value; the full expression must still be evaluated on each candidate. Note
    /// that a missing path is `null` and `null == null`, so two missing values also match.
    public var equalityJoins: [(asyncPath: [PathComponent], eventPath: [PathComponent])] {
        var joins: [(asyncPath: [PathComponent], eventPath: [PathComponent])] = []
        func visit(_ node: ExpressionNode) {
            switch node {
            case .and(let terms):
                terms.forEach(visit)
            case .chain(.path(let leftRoot, let left), let links):
                guard links.count == 1, links[0].op == .equal, case .path(let rightRoot, let right) = links[0].operand
                else { return }
                switch (leftRoot, rightRoot) {
                case (.async, .event): joins.append((asyncPath: left, eventPath: right))
                case (.event, .async): joins.append((asyncPath: right, eventPath: left))
                default: break
                }
            default:
                break
            }
        }
        visit(root)
        return joins
    }
}
