import Testing

@testable import TetherEngine

extension CoordinatorCore {
    /// Records a test issue for every broken invariant.
    func checkInvariants(sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = invariantViolations()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }
}
