import Foundation
import TetherEngine
import TetherProtocol

extension Step {
    /// Runs another function as a child run and returns its output, durably.
    ///
    /// ```swift
    /// let receipt = try await ctx.step.invoke(
    ///     "charge", function: "charge-card", data: Charge(orderId: id, amount: 4_200), as: Receipt.self)
    /// ```
    ///
    /// The coordinator starts a run of `function` with `data` as its event's data and replays this function
    /// once that run ends; no worker waits meanwhile.
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - function: The invoked function's id: `"slug"` for a function of the same app, `"app:slug"` for
    ///     another app's.
    ///   - data: The child's event data: a value that encodes to a JSON object of at most
    ///     `Limits.maxEventBytes`.
    ///   - type: The type of the child's output (its function's return type).
    /// - Returns: The child run's output, decoded as `Output`.
    /// - Throws: `StepError` with the child's error code and message when the child run failed or was
    ///   cancelled; catch it to compensate. An invalid function id or data fails the run at once with code
    ///   `invalid_input`.
    ///
    /// In a unit-test `Context`, it returns the context's output for `id`, and throws `TetherError` if there is
    /// none.
    public func invoke<Output: Decodable & Sendable>(
        _ id: String,
        function: String,
        data: some Encodable & Sendable,
        as type: Output.Type = Output.self
    ) async throws -> Output {
        let limits = state.limits
        let encoder = state.encoder
        let planned = try await state.plannedStep(id, method: "step.invoke") {
            Self.invokeOperation(id, function: function, data: data, encoder: encoder, limits: limits)
        }
        switch planned {
        case .unitTest:
            throw TetherError(
                .invalidInput,
                "step.invoke(\"\(id)\", function: \"\(function)\") can't run another function in a unit-test "
                    + "Context; give its output in Context(events:stepOutputs:) under \"\(id)\".")
        case .stored(let step):
            let output = try state.storedOutput(of: step)
            do {
                return try state.decoder.decode(Output.self, from: output)
            } catch {
                let reason = (error as? DecodingError)?.reason(root: "output") ?? String(describing: error)
                try await state.failAndPark(
                    stepId: "",
                    code: .invalidInput,
                    message: "the output of function \"\(function)\", invoked by step \"\(step.id)\", doesn't "
                        + "decode as \(Output.self): \(reason). Make the type match what that function returns."
                )
            }
        }
    }

    /// Runs another function of this worker as a child run and returns its output, durably.
    ///
    /// ```swift
    /// let receipt = try await ctx.step.invoke("charge", function: chargeCard, data: charge, as: Receipt.self)
    /// ```
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - function: The invoked function, of the same app.
    ///   - data: The child's event data: a value that encodes to a JSON object.
    ///   - type: The type of the child's output (its function's return type).
    /// - Returns: The child run's output, decoded as `Output`.
    /// - Throws: `StepError` with the child's error when the child run failed or was cancelled.
    public func invoke<Output: Decodable & Sendable>(
        _ id: String,
        function: TetherFunction,
        data: some Encodable & Sendable,
        as type: Output.Type = Output.self
    ) async throws -> Output {
        try await invoke(id, function: function.id, data: data, as: Output.self)
    }

    /// Runs another function as a child run and waits for it to end, ignoring its output.
    ///
    /// ```swift
    /// try await ctx.step.invoke("reindex", function: "reindex-catalog", data: ["shop": shopId])
    /// ```
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - function: `"slug"` for a function of the same app, `"app:slug"` for another app's.
    ///   - data: The child's event data: a value that encodes to a JSON object.
    /// - Throws: `StepError` with the child's error when the child run failed or was cancelled.
    public func invoke(_ id: String, function: String, data: some Encodable & Sendable) async throws {
        _ = try await invoke(id, function: function, data: data, as: JSONNull.self)
    }

    /// Runs another function of this worker as a child run and waits for it to end, ignoring its output.
    ///
    /// ```swift
    /// try await ctx.step.invoke("reindex", function: reindexCatalog, data: ["shop": shopId])
    /// ```
    ///
    /// - Parameters:
    ///   - id: The step's id, unique within the function (a repeated id gets a `:1`, `:2`… suffix).
    ///   - function: The invoked function, of the same app.
    ///   - data: The child's event data: a value that encodes to a JSON object.
    /// - Throws: `StepError` with the child's error when the child run failed or was cancelled.
    public func invoke(_ id: String, function: TetherFunction, data: some Encodable & Sendable) async throws {
        _ = try await invoke(id, function: function.id, data: data, as: JSONNull.self)
    }

    /// The operation of an `invoke` step, or what is wrong with its arguments.
    static func invokeOperation(
        _ id: String,
        function: String,
        data: some Encodable,
        encoder: JSONEncoder,
        limits: Limits
    ) -> Result<Tether_V1_StepOp.OneOf_Op, StepArgumentError> {
        let call = "step.invoke(\"\(id)\", function: \"\(function)\")"
        let parts = function.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ TetherFunction.isValidIdentifier(String($0), limits: limits) })
        else {
            return .failure(
                StepArgumentError(
                    message: "\(call): the function must be \"slug\" (a function of this app) or \"app:slug\", "
                        + "each 1 to \(limits.maxIdentifierBytes) characters of A-Z a-z 0-9 . _ -."))
        }
        let json: Data
        do {
            json = try encoder.encode(data)
        } catch {
            return .failure(
                StepArgumentError(message: "\(call): its data (\(type(of: data))) doesn't encode as JSON: \(error)."))
        }
        guard json.first == UInt8(ascii: "{") else {
            return .failure(
                StepArgumentError(
                    message: "\(call): its data must encode to a JSON object (a struct or a [String: …] "
                        + "dictionary); it becomes the child run's event data."))
        }
        guard json.count <= limits.maxEventBytes else {
            return .failure(
                StepArgumentError(
                    message: "\(call): its data is \(json.count) bytes of JSON; the limit is \(limits.maxEventBytes)."
                ))
        }
        var invoke = Tether_V1_InvokeOp()
        invoke.functionID = function
        invoke.data = json
        return .success(.invoke(invoke))
    }
}
