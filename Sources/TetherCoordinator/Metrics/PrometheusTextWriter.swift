/// Writes metric families in the Prometheus text exposition format (version 0.0.4), for the
/// values the coordinator reads at scrape time (scheduler gauges, store statistics) rather
/// than keeping in the registry.
struct PrometheusTextWriter {
    private(set) var bytes: [UInt8]

    init(appendingTo bytes: [UInt8] = []) {
        self.bytes = bytes
    }

    /// `# HELP` and `# TYPE` lines; call once per family, before its samples.
    mutating func header(_ family: MetricFamily) {
        append("# HELP \(family.name) ")
        for byte in family.help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
        append("\n# TYPE \(family.name) \(family.kind.rawValue)\n")
    }

    /// One sample of a counter or gauge; `labels` are values for the family's label names, in order.
    mutating func sample(_ family: MetricFamily, _ labels: [String], _ value: Double) {
        assert(family.kind != .histogram && labels.count == family.labels.count, "\(family.name): wrong labels")
        line(family.name, zip(family.labels, labels).map { ($0, $1) }, Self.format(value))
    }

    mutating func sample(_ family: MetricFamily, _ labels: [String], _ value: Int) {
        assert(family.kind != .histogram && labels.count == family.labels.count, "\(family.name): wrong labels")
        line(family.name, zip(family.labels, labels).map { ($0, $1) }, String(value))
    }

    /// A histogram without labels: `cumulativeCounts[i]` observations were at or below
    /// `upperBounds[i]`; `count` is every observation (the `+Inf` bucket).
    mutating func histogram(
        _ family: MetricFamily, upperBounds: [Double], cumulativeCounts: [Int], count: Int, sum: Double
    ) {
        assert(family.kind == .histogram && family.labels.isEmpty && upperBounds.count == cumulativeCounts.count)
        for (bound, cumulative) in zip(upperBounds, cumulativeCounts) {
            line(family.name + "_bucket", [("le", Self.format(bound))], String(cumulative))
        }
        line(family.name + "_bucket", [("le", "+Inf")], String(count))
        line(family.name + "_sum", [], Self.format(sum))
        line(family.name + "_count", [], String(count))
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, (label, labelValue)) in labels.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(label)
                append("=\"")
                for byte in labelValue.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): append("\\\\")
                    case UInt8(ascii: "\""): append("\\\"")
                    case UInt8(ascii: "\n"): append("\\n")
                    default: bytes.append(byte)
                    }
                }
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A sample value: whole numbers without a fraction, infinities as Prometheus spells them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
