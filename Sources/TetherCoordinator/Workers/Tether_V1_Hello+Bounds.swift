import TetherEngine
import TetherProtocol

extension Tether_V1_Hello {
    /// The first string or count of this Hello over its limit, as a message for the Reject
    /// (`invalid_config`), or nil when all are within bounds.
    ///
    /// Checked before the Hello is used at all, logging included: a peer that has not proved
    /// the signing key yet must not make the coordinator hold, log or store large values.
    /// Names and expressions are validated in full later, at registration; this bounds them.
    func boundsProblem(limits: Limits) -> String? {
        let name = limits.maxIdentifierBytes
        if instanceID.isEmpty || instanceID.utf8.count > name { return "instance id must be 1-\(name) bytes" }
        for (field, value) in [("app name", appName), ("app version", appVersion), ("sdk name", sdkName),
            ("sdk version", sdkVersion)]
        where value.utf8.count > name {
            return "\(field) is \(value.utf8.count) bytes, over the limit of \(name)"
        }
        if labels.count > limits.maxLabelsPerWorker {
            return "at most \(limits.maxLabelsPerWorker) labels, got \(labels.count)"
        }
        for (key, value) in labels where key.utf8.count > limits.maxLabelBytes || value.utf8.count > limits.maxLabelBytes {
            return "label keys and values must be at most \(limits.maxLabelBytes) bytes"
        }
        if functions.count > limits.maxFunctionsPerWorker {
            return "at most \(limits.maxFunctionsPerWorker) functions per worker, got \(functions.count)"
        }
        for function in functions where function.id.utf8.count > name || function.name.utf8.count > name {
            return "function ids and names must be at most \(name) bytes"
        }
        if resumed.count > CoordinatorCore.maxResumedRequests {
            return "at most \(CoordinatorCore.maxResumedRequests) resumed requests, got \(resumed.count)"
        }
        for request in resumed where request.requestID.utf8.count > name || request.runID.utf8.count > name {
            return "resumed request and run ids must be at most \(name) bytes"
        }
        return nil
    }
}
