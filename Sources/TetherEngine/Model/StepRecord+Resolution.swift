extension StepRecord {
    /// Memoizes the step as failed for good with `code`: the function sees the error.
    mutating func fail(_ code: ErrorCode, _ message: String, at now: Int64) {
        status = .failed
        error = RunError(code: code.rawValue, message: message)
        endedAtMilliseconds = now
    }

    /// Memoizes the step as completed with `output` (JSON).
    mutating func complete(output: [UInt8], at now: Int64) {
        status = .completed
        self.output = output
        endedAtMilliseconds = now
    }
}
