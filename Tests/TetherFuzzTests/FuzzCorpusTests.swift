import Foundation
import Testing
import TetherProtocol

@testable import TetherFuzzing

/// The committed fuzz corpus (`Fuzz/Corpus/<target>/`, see scripts/fuzz.sh) replayed through its
/// targets: no client input in it, seeds and past findings alike, crashes the coordinator.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    static func files(_ target: String) throws -> [URL] {
        let directory = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.hasDirectoryPath }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("every corpus file runs through its target without a trap", arguments: FuzzTargets.names)
    func replay(_ target: String) throws {
        let run = try #require(FuzzTargets.named(target))
        let files = try Self.files(target)
        #expect(files.count >= 10, "Fuzz/Corpus/\(target) has \(files.count) files")
        for file in files {
            run(Array(try Data(contentsOf: file)))
        }
    }

    /// The frame target is worth fuzzing only if results reach the scheduler: a planned step
    /// (with empty ids, as in the seeds) is applied and the run is dispatched again.
    @Test("the frame target's scheduler applies a step result and dispatches again")
    func frameSessionAppliesResults() {
        var session = FuzzTargets.FrameSession()
        let first = session.requestId
        session.receive(FrameSeeds.planned([FrameSeeds.op("charge") { $0.run = Tether_V1_RunOp() }]))
        #expect(session.requestId != first)
        let second = session.requestId
        session.receive(FrameSeeds.result { $0.stepCompleted = FrameSeeds.completed("charge", "1") })
        #expect(session.requestId != second)
    }

    /// Generates the frame seeds (`Fuzz/Corpus/frame/`) and replays them. To write them again,
    /// run with `TETHER_FUZZ_WRITE_FRAME_SEEDS=<directory>`.
    @Test("the generated frame seeds run through the frame target")
    func frameSeeds() throws {
        let seeds = FrameSeeds.all()
        #expect(seeds.count >= 10)
        for (_, bytes) in seeds {
            FuzzTargets.frame(bytes)
        }
        if let directory = ProcessInfo.processInfo.environment["TETHER_FUZZ_WRITE_FRAME_SEEDS"], !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (name, bytes) in seeds {
                try Data(bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
            }
        }
    }
}

/// Valid (and a few deliberately broken) worker byte streams, one of each frame kind the
/// coordinator reads, with values at the edges.
enum FrameSeeds {
    /// A frame on the wire: its 4-byte big-endian length, then its bytes.
    static func wire(_ frames: Tether_V1_Frame...) -> [UInt8] {
        var bytes: [UInt8] = []
        for frame in frames {
            let body: [UInt8] = (try? frame.serializedBytes()) ?? []
            let length = UInt32(body.count)
            bytes += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            bytes += body
        }
        return bytes
    }

    static func frame(_ change: (inout Tether_V1_Frame) -> Void) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        change(&frame)
        return frame
    }

    static func result(_ change: (inout Tether_V1_StepResult) -> Void) -> Tether_V1_Frame {
        frame { frame in
            var result = Tether_V1_StepResult()
            change(&result)
            frame.stepResult = result
        }
    }

    static func planned(_ ops: [Tether_V1_StepOp], executed: Tether_V1_StepCompleted? = nil) -> Tether_V1_Frame {
        result { result in
            result.stepsPlanned = .with {
                $0.ops = ops
                if let executed { $0.executed = executed }
            }
        }
    }

    static func op(_ id: String, _ change: (inout Tether_V1_StepOp) -> Void) -> Tether_V1_StepOp {
        var op = Tether_V1_StepOp()
        op.stepID = id
        change(&op)
        return op
    }

    static func completed(_ id: String, _ output: String) -> Tether_V1_StepCompleted {
        .with {
            $0.stepID = id
            $0.output = Data(output.utf8)
            $0.startedAtUnixMs = 1_700_000_000_000
            $0.endedAtUnixMs = 1_700_000_000_050
        }
    }

    static func hello(_ functions: [Tether_V1_FunctionConfig], app: String = "shop") -> Tether_V1_Frame {
        frame { frame in
            frame.hello = .with {
                $0.protocolMajor = ProtocolVersion.major
                $0.instanceID = "i2"
                $0.appName = app
                $0.appVersion = "1.2.3"
                $0.sdkName = "tether-swift"
                $0.sdkVersion = "0.1.0"
                $0.capacity = 8
                $0.labels = ["region": "eu-west-1", "gpu": "false"]
                $0.proof = Data(repeating: 0xAB, count: 32)
                $0.maxFrameBytes = 33 * 1024 * 1024
                $0.functions = functions
            }
        }
    }

    static func function(_ id: String, _ change: (inout Tether_V1_FunctionConfig) -> Void = { _ in }) -> Tether_V1_FunctionConfig {
        var config = Tether_V1_FunctionConfig()
        config.id = id
        config.triggers = [.with { $0.event = .with { $0.event = "shop/order.created" } }]
        change(&config)
        return config
    }

    static func all() -> [(String, [UInt8])] {
        let stepCompleted = result { $0.stepCompleted = completed("charge", #"{"charged":true,"amount":120.5}"#) }
        return [
            ("hello-minimal", wire(hello([function("notify")]))),
            (
                "hello-full",
                wire(
                    hello([
                        function("fulfil") {
                            $0.name = "Fulfil an order"
                            $0.triggers = [
                                .with {
                                    $0.event = .with {
                                        $0.event = "shop/order.*"
                                        $0.expression = "event.data.total > 100 && event.data.customer.tier == 'gold'"
                                    }
                                },
                                .with { $0.event = .with { $0.event = "shop/order/*" } },
                                .with { $0.cron = .with { $0.schedule = "*/15 9-17 * * MON-FRI" } },
                                .with {
                                    $0.cron = .with {
                                        $0.schedule = "30 2 * * *"
                                        $0.timezone = "America/New_York"
                                    }
                                },
                            ]
                            $0.retries = 5
                            $0.cancelOn = [
                                .with {
                                    $0.event = "shop/order.cancelled"
                                    $0.match = "async.data.orderId == event.data.orderId"
                                }
                            ]
                            $0.timeoutStartMs = 60_000
                            $0.timeoutFinishMs = 3_600_000
                            $0.idempotency = "event.data.orderId"
                            $0.concurrency = [.with { $0.limit = 2 }, .with { $0.limit = 1; $0.key = "event.data.customer.id" }]
                            $0.throttle = .with {
                                $0.limit = 10
                                $0.periodMs = 60_000
                                $0.burst = 2
                                $0.key = "event.data.customer.id"
                            }
                            $0.rateLimit = .with {
                                $0.limit = 100
                                $0.periodMs = 3_600_000
                            }
                            $0.debounce = .with {
                                $0.periodMs = 5_000
                                $0.key = "event.data.orderId"
                                $0.timeoutMs = 60_000
                            }
                            $0.priority = "event.data.total"
                            $0.singleton = .with {
                                $0.key = "event.data.customer.id"
                                $0.mode = .cancel
                            }
                        },
                        function("batch") {
                            $0.batchEvents = .with {
                                $0.maxSize = 100
                                $0.timeoutMs = 5_000
                                $0.key = "event.data.customer.id"
                            }
                        },
                    ]))
            ),
            (
                "hello-extremes",
                wire(
                    hello([
                        function("sync") {
                            $0.retries = .max
                            $0.timeoutStartMs = .max
                            $0.timeoutFinishMs = .min
                            $0.concurrency = [.with { $0.limit = .max }]
                            $0.throttle = .with {
                                $0.limit = .max
                                $0.periodMs = .min
                                $0.burst = .max
                            }
                            $0.rateLimit = .with {
                                $0.limit = .max
                                $0.periodMs = .max
                            }
                            $0.debounce = .with {
                                $0.periodMs = .max
                                $0.timeoutMs = .min
                            }
                            $0.batchEvents = .with {
                                $0.maxSize = .max
                                $0.timeoutMs = .max
                            }
                            $0.singleton = .with { $0.mode = .UNRECOGNIZED(7) }
                        }
                    ]))
            ),
            (
                "hello-cron",
                wire(
                    hello([
                        function("nightly") {
                            $0.triggers = [
                                .with { $0.cron = .with { $0.schedule = "TZ=Europe/Paris 0 8 * * *" } },
                                .with { $0.cron = .with { $0.schedule = "@hourly" } },
                                .with { $0.cron = .with { $0.schedule = "0 0 29 2 *" } },
                                .with {
                                    $0.cron = .with {
                                        $0.schedule = "*/7 * 31 * SUN"
                                        $0.timezone = "Australia/Lord_Howe"
                                    }
                                },
                            ]
                        }
                    ]))
            ),
            (
                "hello-invalid",
                wire(
                    hello(
                        [
                            function("bad id!") {
                                $0.triggers = [
                                    .with { $0.event = .with { $0.event = "a*b"; $0.expression = "event.data.x ==" } },
                                    .with { $0.cron = .with { $0.schedule = "61 25 32 13 8"; $0.timezone = "Mars/Olympus" } },
                                    Tether_V1_Trigger(),
                                ]
                                $0.cancelOn = [.with { $0.event = "x/*" }]
                            },
                            function("notify"),
                            function("notify"),
                        ], app: "")
                )
            ),
            ("hello-resumed", wire(frame { frame in
                frame.hello = .with {
                    $0.protocolMajor = ProtocolVersion.major
                    $0.instanceID = "i1"
                    $0.appName = "shop"
                    $0.capacity = .max
                    $0.functions = [function("fuzz") { $0.triggers = [.with { $0.event = .with { $0.event = "fuzz/go" } }] }]
                    $0.resumed = [
                        .with { $0.requestID = "r1"; $0.runID = "x"; $0.resultHeld = true },
                        .with { $0.requestID = "r2"; $0.runID = "y" },
                    ]
                }
            })),
            ("step-completed", wire(stepCompleted)),
            ("step-completed-not-json", wire(result { $0.stepCompleted = completed("charge", "{\"a\":") })),
            ("step-completed-no-id", wire(result { $0.stepCompleted = completed("", "1") })),
            (
                "run-completed",
                wire(result {
                    $0.runCompleted = .with {
                        $0.lastStep = completed("ship", #""shipped""#)
                        $0.output = Data(#"{"ok":true,"n":1e300}"#.utf8)
                    }
                })
            ),
            ("run-completed-empty-output", wire(result { $0.runCompleted = Tether_V1_RunCompleted() })),
            (
                "step-failed",
                wire(result {
                    $0.stepFailed = .with {
                        $0.stepID = "charge"
                        $0.error = .with {
                            $0.code = "card_declined"
                            $0.message = "the card was declined"
                            $0.errorType = "PaymentError"
                            $0.retryAtUnixMs = .max
                        }
                        $0.startedAtUnixMs = .min
                        $0.endedAtUnixMs = .max
                    }
                })
            ),
            (
                "step-failed-non-retriable",
                wire(result {
                    $0.stepFailed = .with {
                        $0.error = .with { $0.nonRetriable = true }
                    }
                })
            ),
            ("planned-run", wire(planned([op("charge") { $0.run = Tether_V1_RunOp() }]))),
            (
                "planned-parallel",
                wire(planned(
                    [op("a") { $0.run = Tether_V1_RunOp() }, op("b") { $0.run = Tether_V1_RunOp() }],
                    executed: completed("first", "[1,2,3]")))
            ),
            (
                "planned-sleep",
                wire(planned([
                    op("nap") { $0.sleep = .with { $0.durationMs = 86_400_000 } },
                    op("until") { $0.sleep = .with { $0.untilUnixMs = 1_800_000_000_000 } },
                ]))
            ),
            (
                "planned-sleep-extremes",
                wire(planned([
                    op("forever") { $0.sleep = .with { $0.durationMs = .max } },
                    op("never") { $0.sleep = .with { $0.untilUnixMs = .min } },
                    op("both") {
                        $0.sleep = .with {
                            $0.durationMs = -1
                            $0.untilUnixMs = .max
                        }
                    },
                ]))
            ),
            (
                "planned-wait",
                wire(planned([
                    op("paid") {
                        $0.waitForEvent = .with {
                            $0.event = "shop/order.paid"
                            $0.match = "async.data.orderId == event.data.n"
                            $0.timeoutMs = 3_600_000
                        }
                    }
                ]))
            ),
            (
                "planned-wait-extremes",
                wire(planned([
                    op("w1") {
                        $0.waitForEvent = .with {
                            $0.event = "x/*"
                            $0.match = "((((async.data[0] + 1e308 + 1e308))))"
                            $0.timeoutMs = .max
                        }
                    },
                    op("w2") { $0.waitForEvent = .with { $0.timeoutMs = .min } },
                ]))
            ),
            (
                "planned-send",
                wire(planned([
                    op("emit") {
                        $0.sendEvent = .with {
                            $0.events = [
                                .with {
                                    $0.name = "fuzz/go"
                                    $0.data = Data(#"{"n":2}"#.utf8)
                                },
                                .with {
                                    $0.id = "dup"
                                    $0.name = "shop/order.created"
                                    $0.data = Data("{}".utf8)
                                    $0.tsUnixMs = .max
                                    $0.v = "2"
                                },
                                .with {
                                    $0.name = "bad name"
                                    $0.data = Data("not json".utf8)
                                    $0.tsUnixMs = .min
                                },
                            ]
                        }
                    }
                ]))
            ),
            (
                "planned-invoke",
                wire(planned([
                    op("call") {
                        $0.invoke = .with {
                            $0.functionID = "shop:fuzz"
                            $0.data = Data(#"{"nested":true}"#.utf8)
                        }
                    },
                    op("call-missing") { $0.invoke = .with { $0.functionID = "nope:nope" } },
                ]))
            ),
            ("planned-empty", wire(planned([]))),
            ("planned-op-without-kind", wire(planned([op("x") { _ in }]))),
            ("result-no-outcome", wire(result { $0.requestID = "r-unknown"; $0.runID = "run-unknown" })),
            (
                "heartbeat",
                wire(frame { frame in
                    frame.heartbeat = .with {
                        $0.sequence = .max
                        $0.inFlightRequestIds = ["r1", "", "r1"]
                        $0.availableCapacity = 3
                    }
                })
            ),
            ("capacity-zero-then-max", wire(
                frame { $0.capacityUpdate = .with { $0.capacity = 0 } },
                frame { $0.capacityUpdate = .with { $0.capacity = .max } }
            )),
            ("pause-goodbye", wire(
                frame { $0.pause = .with { $0.reason = "draining" } },
                frame { $0.goodbye = .with { $0.reason = "bye"; $0.returnedRequestIds = ["r1"] } }
            )),
            ("zero-length", [0, 0, 0, 0, 0, 0, 0, 0]),
            (
                "session",
                wire(
                    planned([op("charge") { $0.run = Tether_V1_RunOp() }]),
                    stepCompleted,
                    planned([op("nap") { $0.sleep = .with { $0.durationMs = 1_000 } }], executed: completed("x", "null")),
                    frame { $0.heartbeat = .with { $0.sequence = 1 } },
                    result {
                        $0.runCompleted = .with { $0.output = Data("\"done\"".utf8) }
                    })
            ),
            ("truncated", Array(wire(stepCompleted).dropLast(3))),
            ("length-too-large", [0xFF, 0xFF, 0xFF, 0xFF, 0x0A, 0x00]),
            ("garbage-body", [0, 0, 0, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            // Field 99 (varint) and field 100 (length-delimited): unknown to this coordinator.
            ("unknown-fields", [0, 0, 0, 7, 0x98, 0x06, 0x01, 0xA2, 0x06, 0x01, 0x41]),
        ]
    }
}
