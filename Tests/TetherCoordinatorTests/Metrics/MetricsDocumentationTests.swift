import Foundation
import Testing

@testable import TetherCoordinator

@Suite("Metrics documentation")
struct MetricsDocumentationTests {
    @Test("docs/operations.md lists every metric family")
    func everyFamilyIsDocumented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../docs/operations.md").standardizedFileURL
        let operations = try String(contentsOf: docs, encoding: .utf8)
        for family in MetricFamily.all {
            #expect(operations.contains("`\(family.name)`"), "docs/operations.md does not list \(family.name)")
        }
    }
}
