import Foundation

/// Runs `body` with the path of a fresh, empty temporary directory, removed afterwards.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) rethrows -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tether-store-tests-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

/// Runs `body` with the path of a fresh, empty temporary directory, removed afterwards.
func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async rethrows -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tether-store-tests-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

/// The UTF-8 bytes of `string`.
func bytes(_ string: String) -> [UInt8] {
    Array(string.utf8)
}

/// Collects values from any thread and lets a test wait until enough have arrived.
final class Recorder<Value: Sendable>: @unchecked Sendable {
    // `values` is only touched while `condition` is locked.
    private let condition = NSCondition()
    private var values: [Value] = []

    func append(_ value: Value) {
        condition.lock()
        values.append(value)
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until `count` values have arrived (or a generous safety limit passes, so a bug
    /// fails the test instead of hanging it), then returns them all.
    func wait(forCount count: Int) -> [Value] {
        let giveUp = Date().addingTimeInterval(120)
        condition.lock()
        defer { condition.unlock() }
        while values.count < count, condition.wait(until: giveUp) {}
        return values
    }

    var snapshot: [Value] {
        condition.lock()
        defer { condition.unlock() }
        return values
    }
}

/// A small seedable generator (SplitMix64), so randomised tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
