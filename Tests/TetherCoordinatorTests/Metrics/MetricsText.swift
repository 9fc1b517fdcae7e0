/// Samples of a Prometheus text exposition by series (`name{labels}` as written), for tests.
struct MetricsText {
    let text: String
    let samples: [String: Double]

    init(_ bytes: [UInt8]) {
        self.init(String(decoding: bytes, as: UTF8.self))
    }

    init(_ text: String) {
        self.text = text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        self.samples = samples
    }

    subscript(_ series: String) -> Double? { samples[series] }

    /// Names with a `# TYPE` line.
    var families: Set<String> {
        Set(
            text.split(separator: "\n").compactMap { line in
                line.hasPrefix("# TYPE ") ? line.split(separator: " ")[2].description : nil
            })
    }
}
