import ArgumentParser
import TetherStore

/// Flags shared by `dev` and `serve` (docs/operations.md).
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to bind the HTTP API and worker port to.")
    var host: String?

    @Option(name: .customLong("http-port"), help: "HTTP API and dashboard port (default 7420).")
    var httpPort: Int?

    @Option(name: .customLong("worker-port"), help: "Worker TLS port (default 7421).")
    var workerPort: Int?

    @Option(name: .customLong("data"), help: "Data directory.")
    var data: String?

    @Option(help: "strict (fsync every commit, the default) or relaxed (no fsync).")
    var durability: Durability?

    @Option(
        name: .customLong("max-concurrent-handshakes"),
        help: "Most worker handshakes at once (default 256); more connections queue before TLS.")
    var maxConcurrentHandshakes: Int?

    /// The values `maxConcurrentHandshakes` may take, as a flag or in the `serve` file.
    static let handshakeLimits = 1...100_000

    func validate() throws {
        if let limit = maxConcurrentHandshakes, !Self.handshakeLimits.contains(limit) {
            throw ValidationError("--max-concurrent-handshakes must be between 1 and 100000, got \(limit)")
        }
    }
}

extension Durability: ExpressibleByArgument {}
