/// Samples of a Prometheus text exposition by series (`name{labels}` as written), for tests.
public struct MetricsText {
    public let text: String
    public let samples: [String: Double]

    public init(_ bytes: [UInt8]) {
        self.init(String(decoding: bytes, as: UTF8.self))
    }

    public init(_ text: String) {
        self.text = text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        self.samples = samples
    }

    public subscript(_ series: String) -> Double? { samples[series] }

    /// Names with a `# TYPE` line.
    public var families: Set<String> {
        Set(
            text.split(separator: "\n").compactMap { line in
                line.hasPrefix("# TYPE ") ? line.split(separator: " ")[2].description : nil
            })
    }
}
