import Foundation
import Testing
import TetherEngine
import TetherProtocol

@Suite("Signing key")
struct SigningKeyTests {
    static let sampleBytes = Array(UInt8(0)..<32)
    static let sampleText = "tsk_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    @Test("generate then parse gives the same key")
    func roundTrip() throws {
        let key = SigningKey.generate()
        #expect(key.text.hasPrefix("tsk_"))
        #expect(key.text.count == 68)
        #expect(key.text.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
        #expect(try SigningKey(parsing: key.text) == key)
        #expect(try SigningKey(parsing: "  \(key.text)\n") == key)
        #expect(SigningKey.generate() != key)
    }

    @Test("the text form is tsk_ and lowercase hex of the bytes")
    func textForm() throws {
        let key = try SigningKey(bytes: Self.sampleBytes)
        #expect(key.text == Self.sampleText)
        #expect(try SigningKey(parsing: Self.sampleText.uppercased().replacingOccurrences(of: "TSK_", with: "tsk_")) == key)
    }

    @Test(
        "malformed keys are rejected with invalid_input and the expected format",
        arguments: [
            "",
            "tsk_",
            "tsx_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "tsk_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
            "tsk_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0",
            "tsk_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
            "tsk_00010203040506070809 a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "tsk_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eé",
        ]
    )
    func rejects(text: String) {
        let error = #expect(throws: TetherError.self) { try SigningKey(parsing: text) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("tsk_") == true)
        #expect(error?.message.contains("64 hex digits") == true)
    }

    @Test("raw bytes must be 32")
    func rawBytes() {
        #expect(throws: TetherError.self) { try SigningKey(bytes: [1, 2, 3]) }
    }

    @Test("description shows a fingerprint, never the secret")
    func redacted() throws {
        let key = try SigningKey(bytes: Self.sampleBytes)
        #expect(key.fingerprint == "630dcd29")  // first 8 hex digits of SHA-256(bytes 0...31)
        #expect(key.description == "tsk_…(redacted, fingerprint 630dcd29)")
        #expect(!key.description.contains("000102"))
        #expect(!"\(key)".contains(String(key.text.dropFirst(4).prefix(8))))
        let generated = SigningKey.generate()
        #expect(!String(describing: generated).contains(String(generated.text.dropFirst(4).prefix(8))))
    }

    @Test("a key file is read, trailing newline and all; errors name the path")
    func keyFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-key-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let path = directory.appendingPathComponent("signing-key").path
        try (Self.sampleText + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try SigningKey(contentsOfFile: path) == SigningKey(bytes: Self.sampleBytes))

        let missing = directory.appendingPathComponent("missing").path
        let error = #expect(throws: TetherError.self) { try SigningKey(contentsOfFile: missing) }
        #expect(error?.message.contains(missing) == true)

        try "not a key".write(toFile: path, atomically: true, encoding: .utf8)
        let parseError = #expect(throws: TetherError.self) { try SigningKey(contentsOfFile: path) }
        #expect(parseError?.code == .invalidInput)
        #expect(parseError?.message.contains(path) == true)
    }
}
