import TetherEngine

/// What a singleton function does with an event while a run with the same key is active.
///
/// ```swift
/// let sync = TetherFunction("sync-account", trigger: .event("account/changed")) { … }
///     .singleton(key: "event.data.accountId", mode: .cancel)
/// ```
public enum SingletonMode: Sendable, Hashable, CaseIterable {
    /// The new event starts no run; the active run carries on.
    case skip
    /// The active run is cancelled and the new event starts a run.
    case cancel

    /// The engine's form.
    var engineMode: Singleton.Mode {
        switch self {
        case .skip: .skip
        case .cancel: .cancel
        }
    }
}
