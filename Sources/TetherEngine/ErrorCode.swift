/// Stable error codes shared by the HTTP API, the wire protocol and the CLI.
///
/// These strings are a contract: clients match on them. Add new ones, never rename.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    // HTTP API and general.
    public static let invalidInput: ErrorCode = "invalid_input"
    public static let invalidJSON: ErrorCode = "invalid_json"
    public static let notFound: ErrorCode = "not_found"
    /// The path exists but not with this method (`405`, with an `Allow` header).
    public static let methodNotAllowed: ErrorCode = "method_not_allowed"
    public static let conflict: ErrorCode = "conflict"
    public static let payloadTooLarge: ErrorCode = "payload_too_large"
    public static let unauthenticated: ErrorCode = "unauthenticated"
    public static let overloaded: ErrorCode = "overloaded"
    public static let storageUnavailable: ErrorCode = "storage_unavailable"
    public static let unavailable: ErrorCode = "unavailable"
    /// A client gave up waiting: no answer within its timeout, or a run still active at the deadline.
    public static let timeout: ErrorCode = "timeout"
    public static let internalError: ErrorCode = "internal"

    // Wire protocol.
    public static let unsupportedVersion: ErrorCode = "unsupported_version"
    public static let invalidConfig: ErrorCode = "invalid_config"
    public static let protocolError: ErrorCode = "protocol_error"
    public static let malformedFrame: ErrorCode = "malformed_frame"
    public static let frameTooLarge: ErrorCode = "frame_too_large"
    public static let draining: ErrorCode = "draining"
    public static let handshakeTimeout: ErrorCode = "handshake_timeout"
    public static let heartbeatTimeout: ErrorCode = "heartbeat_timeout"
    /// A standby coordinator of a cluster refused a worker: it is not the leader. Its `Reject`
    /// names the leader's worker address when it knows one (protocol 1.2).
    public static let notLeader: ErrorCode = "not_leader"

    // Steps and runs.
    public static let stepFailed: ErrorCode = "step_failed"
    public static let outputTooLarge: ErrorCode = "output_too_large"
    public static let tooManySteps: ErrorCode = "too_many_steps"
    public static let runStateTooLarge: ErrorCode = "run_state_too_large"
    public static let functionNotFound: ErrorCode = "function_not_found"
    public static let nonDeterministic: ErrorCode = "non_deterministic"
    public static let cancelled: ErrorCode = "cancelled"
    /// A run did not start or finish within its function's `timeouts`.
    public static let runTimedOut: ErrorCode = "run_timed_out"
    /// A worker reported a step's or a function's output that is not UTF-8 JSON. Non-retriable.
    public static let invalidOutput: ErrorCode = "invalid_output"
}

/// An expected operating error with a stable code, a message for humans and an optional cause.
///
/// The code and the message are what a client sees; the cause (a store error, a socket error)
/// is for the log, and is left out of both `description` and equality, so an answer never
/// carries a file path or an internal error by accident.
public struct TetherError: Error, Sendable, CustomStringConvertible, Equatable {
    public var code: ErrorCode
    public var message: String
    /// The lower-level error this one stands for, if any.
    public var cause: (any Error & Sendable)?

    public init(_ code: ErrorCode, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(code): \(message)" }

    /// The description with the cause, for logs.
    public var logDescription: String {
        cause.map { "\(description) (cause: \($0))" } ?? description
    }

    public static func == (lhs: TetherError, rhs: TetherError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
}
