/// `/readyz` of every node, asked every 50 ms: when each question was sent and its answer.
actor ReadinessLog {
    struct Sample: Sendable {
        var nodeId: String
        var sentAt: ContinuousClock.Instant
        /// nil while the node does not answer (between roles).
        var status: Int?
    }

    private(set) var samples: [Sample] = []

    func probe(_ nodes: [ChildClusterNode]) async {
        while !Task.isCancelled {
            for node in nodes {
                let sentAt = ContinuousClock.now
                let answer = try? await HTTPExchange.send(port: node.httpPort, .GET, "/readyz")
                samples.append(Sample(nodeId: node.nodeId, sentAt: sentAt, status: answer?.status))
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
