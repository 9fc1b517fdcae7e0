import Prometheus

/// One metric the coordinator exports: its name, type, help text and label names. Every
/// family is declared in `CoordinatorMetrics.swift`, so names live in one place.
struct MetricFamily: Sendable, Equatable {
    enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    let name: String
    let kind: Kind
    let labels: [String]
    let help: String

    init(_ kind: Kind, _ name: String, labels: [String] = [], _ help: String) {
        self.kind = kind
        self.name = name
        self.labels = labels
        self.help = help
    }

    /// The name and help for swift-prometheus' registry (the name is already complete).
    var descriptor: MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
