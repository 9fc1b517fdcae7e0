import Foundation
import Testing

@testable import TetherEngine

@Suite("JSONValue serialization")
struct JSONValueSerializationTests {
    private func text(_ value: JSONValue) -> String {
        String(decoding: value.serialized(), as: UTF8.self)
    }

    @Test("writes compact JSON with sorted keys")
    func compactSorted() {
        let value: JSONValue = ["b": [1, 2.5, "x\n"], "a": .null, "B": true, "é": [:], "aa": []]
        #expect(text(value) == #"{"B":true,"a":null,"aa":[],"b":[1,2.5,"x\n"],"é":{}}"#)
        #expect(value.description == text(value))
    }

    @Test("escapes quotes, backslashes and control characters only")
    func escaping() {
        let value = JSONValue.string("\"\\/\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}é😀")
        #expect(text(value) == "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}é😀\"")
    }

    @Test("writes integers exactly and doubles so that they read back identically")
    func numbers() throws {
        #expect(text(.int(.min)) == "-9223372036854775808")
        #expect(text(.int(.max)) == "9223372036854775807")
        #expect(text(.double(.infinity)) == "null")
        #expect(text(.double(.nan)) == "null")
        let doubles: [Double] = [
            0.1, 1e-7, 1e300, .leastNonzeroMagnitude, -0.0, 1.0, 123_456.789, .pi, 1e16, 9_007_199_254_740_992,
            -2.5e-308,
            .greatestFiniteMagnitude, .leastNormalMagnitude, 0.1 + 0.2,
        ]
        for double in doubles {
            let parsed = try JSONValue(parsing: JSONValue.double(double).serialized())
            guard case .double(let back) = parsed else {
                Issue.record("\(double) read back as \(parsed)")
                continue
            }
            #expect(back.bitPattern == double.bitPattern, "\(double)")
        }
    }

    @Test("round-trips documents through parse and serialize")
    func roundTrip() throws {
        let documents = [
            #"{"a":[1,-2,3.25,"\u0000\"",true,false,null],"b":{"c":{"d":[]}},"e":"é😀"}"#,
            #"[9223372036854775807,-9223372036854775808,1e+300,0.5]"#,
            #""plain""#,
            "[" + String(repeating: "[", count: 127) + String(repeating: "]", count: 127) + "]",
        ]
        for document in documents {
            let value = try JSONValue(parsing: document)
            let bytes = value.serialized()
            #expect(try JSONValue(parsing: bytes) == value)
            // Serializing is deterministic and idempotent.
            #expect(try JSONValue(parsing: bytes).serialized() == bytes)
        }
    }

    @Test("encodes and decodes with Codable")
    func codable() throws {
        let value: JSONValue = ["id": 7, "ratio": 0.25, "tags": ["a", "b"], "none": .null, "ok": true]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
        #expect(try JSONValue(parsing: data) == value)
        struct Wrapper: Codable, Equatable { var payload: JSONValue }
        let wrapped = try JSONDecoder().decode(Wrapper.self, from: Data(#"{"payload":{"x":[1,"y"]}}"#.utf8))
        #expect(wrapped.payload == ["x": [1, "y"]])
    }

    @Test("reads values through subscripts and accessors")
    func accessors() throws {
        let value = try JSONValue(parsing: #"{"s":"x","n":3,"d":1.5,"b":false,"a":[10,20],"o":{"k":null}}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["n"]?.int64Value == 3)
        #expect(value["d"]?.doubleValue == 1.5)
        #expect(value["d"]?.int64Value == nil)
        #expect(value["b"]?.boolValue == false)
        #expect(value["a"]?[1] == 20)
        #expect(value["a"]?[2] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value["o"]?["k"]?.isNull == true)
        #expect(value["o"]?.objectValue?.count == 1)
        #expect(value["a"]?.arrayValue?.count == 2)
        #expect(value["missing"] == nil)
        #expect(value[0] == nil)
        #expect(value["s"]?["k"] == nil)
        #expect(value.typeName == "object")
    }
}
