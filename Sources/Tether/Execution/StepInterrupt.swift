import TetherProtocol

/// Thrown by `step.run` to unwind the function's body once the request's work is done: a new step was
/// reached after the one this request executed, or a step failed.
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
