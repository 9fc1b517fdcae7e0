import Testing

@testable import TetherCoordinator

@Suite("Prometheus text")
struct PrometheusTextWriterTests {
    @Test("a gauge family: help and type lines, one sample per label value, values escaped")
    func gauge() {
        var writer = PrometheusTextWriter()
        let family = MetricFamily(.gauge, "tether_test_depth", labels: ["function"], "Depth.\nSecond line \\ here.")
        writer.header(family)
        writer.sample(family, ["shop:charge"], 3)
        writer.sample(family, [#"odd"name\"#], 0.25)
        #expect(
            String(decoding: writer.bytes, as: UTF8.self) == #"""
                # HELP tether_test_depth Depth.\nSecond line \\ here.
                # TYPE tether_test_depth gauge
                tether_test_depth{function="shop:charge"} 3
                tether_test_depth{function="odd\"name\\"} 0.25

                """#)
    }

    @Test("a histogram from cumulative counts: le buckets, +Inf, sum and count")
    func histogram() {
        var writer = PrometheusTextWriter()
        let family = MetricFamily(.histogram, "tether_test_seconds", "Time.")
        writer.header(family)
        writer.histogram(family, upperBounds: [0.001, 0.5, 2], cumulativeCounts: [1, 3, 3], count: 4, sum: 7.5)
        #expect(
            String(decoding: writer.bytes, as: UTF8.self) == """
                # HELP tether_test_seconds Time.
                # TYPE tether_test_seconds histogram
                tether_test_seconds_bucket{le="0.001"} 1
                tether_test_seconds_bucket{le="0.5"} 3
                tether_test_seconds_bucket{le="2"} 3
                tether_test_seconds_bucket{le="+Inf"} 4
                tether_test_seconds_sum 7.5
                tether_test_seconds_count 4

                """)
    }
}
