// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tether",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Tether", targets: ["Tether"]),
        .library(name: "TetherCoordinator", targets: ["TetherCoordinator"]),
        .library(name: "TetherClient", targets: ["TetherClient"]),
        .executable(name: "tether", targets: ["tether"]),
        .executable(name: "tether-example", targets: ["TetherExample"]),
        .executable(name: "tether-example-fulfilment", targets: ["TetherExampleFulfilment"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.10.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.28.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        // The cluster mode's journal and leader lease (TetherCluster).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // Traces of runs and steps (TetherTelemetry): the tracing API, and OpenTelemetry's
        // exporter over OTLP/HTTP only (the gRPC trait would add grpc-swift to every build).
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.2.0"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // C shim over librocksdb-dev (RocksDB's C API).
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        // Pure engine: no NIO, no RocksDB.
        .target(
            name: "TetherEngine",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "TetherProtocol",
            dependencies: [
                "TetherEngine",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Generated/README.md"]
        ),
        // The HTTP API's types, server protocol and client, generated from openapi.yaml
        // (scripts/generate-openapi.sh; the generated files are committed).
        .target(
            name: "TetherAPI",
            dependencies: [
                "TetherEngine",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            exclude: ["openapi.yaml", "openapi-generator-config.yaml"],
            resources: [.embedInCode("Generated/openapi.json")]
        ),
        .target(
            name: "TetherStore",
            dependencies: [
                "CRocksDB",
                "TetherEngine",
                "TetherProtocol",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                // SHA-256 of every file of a backup (Backup/BackupFiles.swift).
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Cluster mode: the PostgreSQL journal every commit goes to, the leader lease with its
        // epoch fencing, and the standby's tailing of the journal into its own store.
        .target(
            name: "TetherCluster",
            dependencies: [
                "TetherStore",
                "TetherEngine",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // OpenTelemetry for the coordinator and the SDK: the tracer from the `OTEL_*` variables
        // (or the serve file), W3C trace context as text, and the spans both sides share.
        .target(
            name: "TetherTelemetry",
            dependencies: [
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TetherCoordinator",
            dependencies: [
                "TetherAPI",
                "TetherTelemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "TetherCluster",
                "TetherEngine",
                "TetherProtocol",
                "TetherStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // HTTPS on the HTTP port (`httpTls`, `tether dev --https`).
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
                // Each coordinator's own registry; CoreMetrics only through it (no global MetricsSystem).
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                // `tether serve`'s file, flags and environment (ServeConfiguration.swift); FilePath
                // names the file for it.
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            // The dashboard page, embedded in the binary (HTTP/Dashboard/Dashboard.swift).
            resources: [
                .embedInCode("HTTP/Dashboard/Resources/index.html"),
                .embedInCode("HTTP/Dashboard/Resources/dashboard.css"),
                .embedInCode("HTTP/Dashboard/Resources/core.js"),
                .embedInCode("HTTP/Dashboard/Resources/charts.js"),
                .embedInCode("HTTP/Dashboard/Resources/workers.js"),
                .embedInCode("HTTP/Dashboard/Resources/runs.js"),
                .embedInCode("HTTP/Dashboard/Resources/cluster.js"),
                .embedInCode("HTTP/Dashboard/Resources/main.js"),
            ]
        ),
        // The typed HTTP client: the generated client over AsyncHTTPClient.
        .target(
            name: "TetherClient",
            dependencies: [
                "TetherAPI",
                "TetherEngine",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "Tether",
            dependencies: [
                "TetherEngine",
                "TetherTelemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "TetherProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // WorkerOptions reads its TETHER_* variables through it.
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // Starting child processes with posix_spawn, and reading their CPU and memory: for the
        // bench and the tests that kill coordinators and workers; not in the server library.
        .target(
            name: "TetherProcess",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // `tether bench`: the load generator, in its own module beside the CLI.
        .target(
            name: "TetherBench",
            dependencies: [
                "Tether", "TetherClient", "TetherCluster", "TetherCoordinator", "TetherEngine", "TetherProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "tether",
            dependencies: [
                "TetherCoordinator",
                "TetherCluster",
                "TetherClient",
                "TetherBench",
                "Tether",
                "TetherProtocol",
                "TetherEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "TetherStore",
                "TetherTelemetry",
            ]
        ),
        .executableTarget(
            name: "TetherExample",
            dependencies: ["Tether"],
            path: "Examples/OrderWorker",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "TetherExampleFulfilment",
            dependencies: ["Tether"],
            path: "Examples/Fulfilment",
            exclude: ["README.md"]
        ),
        // A worker process for crash tests (SIGKILL / SIGSTOP mid-step); not a product.
        .executableTarget(
            name: "TetherTestWorker",
            dependencies: ["Tether", .product(name: "Tracing", package: "swift-distributed-tracing")],
            path: "Tests/TetherTestWorker"
        ),
        // Fuzz targets (scripts/fuzz.sh): the decoders and parsers that read client input; not products.
        .target(
            name: "TetherFuzzing",
            dependencies: [
                "TetherEngine", "TetherProtocol", "TetherCoordinator",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TetherFuzzing"
        ),
        // libFuzzer entry point when built with -DFUZZING, a corpus replayer otherwise.
        .executableTarget(
            name: "tether-fuzz",
            dependencies: ["TetherFuzzing"],
            path: "Fuzz/Sources/TetherFuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"]), .enableExperimentalFeature("Extern")]
        ),
        .testTarget(
            name: "TetherFuzzTests",
            dependencies: ["TetherFuzzing", "TetherEngine", "TetherProtocol"]
        ),
        .testTarget(
            name: "TetherEngineTests",
            dependencies: ["TetherEngine"]
        ),
        .testTarget(
            name: "TetherProtocolTests",
            dependencies: [
                "TetherProtocol",
                "TetherEngine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        // Helpers shared by test targets (not a product).
        .target(name: "TetherTestSupport", dependencies: ["TetherEngine", "TetherProcess"], path: "Tests/TetherTestSupport"),
        .testTarget(
            name: "TetherStoreTests",
            dependencies: ["TetherStore", "TetherEngine"],
            // Stores written by a release (scripts/make-store-fixture.sh), read in place by path.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "TetherClusterTests",
            dependencies: [
                "TetherCluster", "TetherStore", "TetherEngine", "TetherTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TetherCoordinatorTests",
            dependencies: [
                "TetherAPI", "TetherCluster", "TetherCoordinator", "TetherEngine", "TetherStore", "TetherTestSupport",
                "TetherTelemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "TetherTests",
            dependencies: ["Tether", "TetherProtocol", "TetherEngine"]
        ),
        // The seeded simulation of the scheduler and the store under faults (scripts/simulate.sh).
        .testTarget(
            name: "TetherSimulationTests",
            dependencies: ["TetherEngine", "TetherStore"]
        ),
        .testTarget(
            name: "TetherIntegrationTests",
            dependencies: [
                "TetherCoordinator",
                "TetherClient",
                "TetherProcess",
                "Tether",
                "TetherStore",
                "TetherProtocol",
                "TetherEngine",
                "TetherTestSupport",
                "TetherCluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // The OTLP receiver of TracingLiveTests decodes the spans it is sent.
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Support/OTLP/otlp_trace.proto"]
        ),
    ]
)
