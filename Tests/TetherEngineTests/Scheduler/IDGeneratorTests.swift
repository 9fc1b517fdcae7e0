import Testing

@testable import TetherEngine

@Suite("ID generator")
struct IDGeneratorTests {
    @Test("ids are 26 Crockford characters and strictly increasing, within and across milliseconds")
    func ordering() {
        var generator = IDGenerator(seed: 7)
        var previous = ""
        for i in 0..<10_000 {
            let id = generator.next(nowMilliseconds: 1_700_000_000_000 + Int64(i / 100))
            #expect(id.count == 26)
            #expect(id > previous)
            previous = id
        }
    }

    @Test("a clock going backwards never produces a smaller id")
    func clockBackwards() {
        var generator = IDGenerator(seed: 1)
        let a = generator.next(nowMilliseconds: 2_000)
        let b = generator.next(nowMilliseconds: 1_000)
        #expect(b > a)
    }

    @Test("the time prefix encodes the milliseconds")
    func timePrefix() {
        #expect(IDGenerator.encode(milliseconds: 0, high: 0, low: 0) == String(repeating: "0", count: 26))
        #expect(IDGenerator.encode(milliseconds: 1, high: 0, low: 0).prefix(10) == "0000000001")
    }
}
