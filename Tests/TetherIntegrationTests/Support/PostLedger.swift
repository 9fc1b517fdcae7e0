import TetherClient
import TetherEngine

/// Every `mix/start` event the load sent: when, to which outcome, and the run it started.
actor PostLedger {
    struct Record: Sendable {
        var i: Int
        var sentAt: ContinuousClock.Instant
        var answeredAt: ContinuousClock.Instant
        /// The HTTP status, or nil when no answer came (connection refused, timeout).
        var status: Int?
    }

    private(set) var records: [Record] = []
    private var runIds: [Int: String] = [:]
    private(set) var highest = -1

    /// Sends run `i`'s event (id `mix-i`, so a resend is a duplicate) and records the outcome.
    func post(_ i: Int, through client: TetherClient) async {
        highest = max(highest, i)
        let event: JSONValue = ["id": .string("mix-\(i)"), "name": "mix/start", "data": ["i": .int(Int64(i))]]
        let sentAt = ContinuousClock.now
        let response = try? await client.request(.POST, "/v1/events", body: JSONValue.array([event]).serialized())
        records.append(Record(i: i, sentAt: sentAt, answeredAt: .now, status: response?.status))
        if let response, (200..<300).contains(response.status),
            let runId = response.json?["events"]?[0]?["runs"]?[0]?.stringValue
        {
            if let known = runIds[i] { precondition(known == runId, "event mix-\(i) started two runs") }
            runIds[i] = runId
        }
    }

    func runId(_ i: Int) -> String? { runIds[i] }
    /// The runs of events `range`, in order ("" for one not accepted).
    func runs(_ range: ClosedRange<Int>) -> [String] { range.map { runIds[$0] ?? "" } }
    var acknowledgedCount: Int { runIds.count }
    var acknowledged: [(Int, String)] { runIds.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}
