import Foundation

/// The API fields the dashboard's script reads, for tests that compare them with rendered documents.
///
/// The script reads API documents only through fixed variable names (see
/// `Dashboard+ScriptCore.swift`); `references(in:)` collects `name.field` and `name?.field` for
/// each of them.
public enum DashboardFields {
    /// What each variable name holds.
    public static let documents: [String: String] = [
        "st": "GET /v1/status", "co": "status.coordinator", "ca": "status.capacity", "qu": "status.queue",
        "wk": "a worker (status or /v1/workers)", "hs": "a /v1/workers history sample",
        "fs": "status.functions[]", "fn": "a /v1/functions function", "tg": "a function trigger",
        "rn": "a run (list or detail)", "sp": "a run step", "wf": "a step's waitFor", "pa": "a run's parent",
        "er": "an error object", "ev": "a run's event",
        "wl": "GET /v1/workers", "fl": "GET /v1/functions", "rl": "GET /v1/runs",
    ]

    /// Field names read through each document variable in `script`.
    public static func references(in script: String) -> [String: Set<String>] {
        let names = documents.keys.sorted().joined(separator: "|")
        let pattern = try! NSRegularExpression(pattern: "(?<![\\w$.])(\(names))\\??\\.([A-Za-z_$][\\w$]*)")
        var found: [String: Set<String>] = [:]
        let text = script as NSString
        for match in pattern.matches(in: script, range: NSRange(location: 0, length: text.length)) {
            found[text.substring(with: match.range(at: 1)), default: []].insert(
                text.substring(with: match.range(at: 2)))
        }
        return found
    }

    /// Fields read through `name` that `available` does not have.
    public static func unknown(_ references: [String: Set<String>], _ name: String, available: Set<String>) -> Set<
        String
    > {
        (references[name] ?? []).subtracting(available)
    }
}
