import TetherProtocol

/// Thrown by step calls to unwind the function's body once the request's work is done: every step that
/// couldn't go on (a new step that doesn't execute here, or any step after a failure) waited, parked, until the
/// request ended, and is then resumed with this error; a step reached after the end throws it at once.
///
/// User code may catch and swallow it; the executor doesn't rely on seeing it, it reads what the
/// `ExecutionState` recorded.
struct StepInterrupt: Error, CustomStringConvertible {
    var description: String {
        "Tether stopped the function at a step to report progress; rethrow errors you don't handle."
    }
}

/// The request itself can't be executed (it carries no event): a coordinator bug, reported as `invalid_input`.
struct InvalidRequestError: Error, CustomStringConvertible {
    var description: String
}

/// A failure already in its wire form, carried through a `Result`.
struct WireFailure: Error {
    var error: Tether_V1_StepError
}
