import Foundation
import TetherEngine
import TetherProtocol

extension Tether_V1_StepError {
    /// An error the SDK itself reports, such as `output_too_large`.
    init(code: ErrorCode, message: String, nonRetriable: Bool, errorType: String = "") {
        self.init()
        self.code = code.rawValue
        self.message = message
        self.nonRetriable = nonRetriable
        self.errorType = errorType
    }

    /// The wire form of an error thrown by a step's closure or by the function's body.
    ///
    /// `NonRetriableError` stops retries, `RetryAfterError` sets the next attempt's time, an uncaught
    /// `StepError` (a step that already failed for good) fails the run with that step's code, and an
    /// undecodable event is `invalid_input`. Anything else is a retriable `step_failed`.
    init(mapping error: any Error) {
        self.init()
        self.code = ErrorCode.stepFailed.rawValue
        self.errorType = String(describing: type(of: error))
        self.message = Self.message(for: error)
        switch error {
        case is NonRetriableError:
            self.nonRetriable = true
        case let error as RetryAfterError:
            self.retryAtUnixMs = error.retryAt.unixMilliseconds
        case let error as StepError:
            // Replaying gives the same memoized failure, so retrying the run can't help.
            self.code = error.code
            self.errorType = error.errorType
            self.nonRetriable = true
        case is EventDecodingError, is InvalidRequestError:
            self.code = ErrorCode.invalidInput.rawValue
            self.nonRetriable = true
        default:
            break
        }
    }

    private static func message(for error: any Error) -> String {
        switch error {
        case let error as DecodingError:
            return error.reason(root: "value")
        case let error as any LocalizedError:
            return error.errorDescription ?? String(describing: error)
        default:
            return String(describing: error)
        }
    }
}

extension Date {
    /// Milliseconds since 1970, as the wire protocol's `*_unix_ms` fields carry time.
    var unixMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }
}
