import Foundation
import NIOCore
import TetherProtocol

/// Sample frames of several kinds and sizes.
enum Frames {
    static var hello: Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        frame.hello = .with {
            $0.protocolMajor = 1
            $0.instanceID = "worker-1"
            $0.appName = "shop"
            $0.appVersion = "1.2.3"
            $0.capacity = 8
            $0.labels = ["zone": "a"]
            $0.proof = Data(repeating: 7, count: 32)
            $0.functions = [
                .with {
                    $0.id = "charge"
                    $0.triggers = [.with { $0.event = .with { $0.event = "order/created" } }]
                }
            ]
        }
        return frame
    }

    static var heartbeat: Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        frame.heartbeat = .with {
            $0.sequence = 42
            $0.inFlightRequestIds = ["r1", "r2"]
            $0.availableCapacity = 6
        }
        return frame
    }

    static func stepRequest(payloadBytes: Int) -> Tether_V1_Frame {
        var frame = Tether_V1_Frame()
        frame.stepRequest = .with {
            $0.requestID = "req-1"
            $0.runID = "run-1"
            $0.events = [.with { $0.name = "order/created"; $0.data = Data(repeating: UInt8(ascii: "x"), count: payloadBytes) }]
        }
        return frame
    }

    /// Small frames of every shape, cheap enough to drip-feed byte by byte.
    static var small: [Tether_V1_Frame] {
        [hello, heartbeat, .error(code: .protocolError, message: "bye"), Tether_V1_Frame(), stepRequest(payloadBytes: 300)]
    }

    /// ``small`` plus a frame bigger than one socket read (64 KiB).
    static var all: [Tether_V1_Frame] {
        small + [stepRequest(payloadBytes: 100_000)]
    }

    /// The length-prefixed encoding of `frame`.
    static func encoded(_ frames: Tether_V1_Frame...) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames {
            try buffer.writeFrame(frame)
        }
        return buffer
    }

    /// A 4-byte big-endian length followed by `body`.
    static func raw(length: UInt32, body: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(length, endianness: .big)
        buffer.writeBytes(body)
        return buffer
    }
}
