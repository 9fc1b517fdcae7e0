import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TetherAPI
import TetherStore

@testable import TetherCoordinator
@testable import TetherEngine

#if canImport(Glibc)
    import Glibc
#endif

/// `POST` and `GET /v1/admin/backups` through the real router, in memory, against a real store.
@Suite("Routes in memory: backups")
struct BackupRouteTests {
    static func conforms(
        _ response: TestResponse, _ method: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        RouteTests.conforms(response, method, "/v1/admin/backups", sourceLocation: sourceLocation)
    }

    @Test(
        "POST backs up the live store (201, the manifest); GET lists it; the backup verifies and restores to the same events"
    )
    func createListVerifyRestore() async throws {
        try await RouterFixture.test { client, fixture in
            let empty = try await client.request(.get, "/v1/admin/backups")
            #expect(empty.status == .ok)
            #expect(empty.text == #"{"backups":[]}"#)
            Self.conforms(empty, "GET")

            let events = (0..<50).map { #"{"name":"order/created","id":"e-\#($0)","data":{"n":\#($0)}}"# }
            let sent = try await client.request(.post, "/v1/events", body: "[" + events.joined(separator: ",") + "]")
            #expect(sent.status == .ok)

            let created = try await client.request(.post, "/v1/admin/backups")
            #expect(created.status == .created)
            Self.conforms(created, "POST")
            let manifest = try #require(created.json)
            let id = try #require(manifest["id"]?.stringValue)
            #expect(IDGenerator.isValid(id))
            #expect(manifest["coordinatorVersion"]?.stringValue == fixture.configuration.version)
            #expect(manifest["keyLayoutVersion"] == .int(Int64(KeyLayout.schemaVersion)))
            #expect(manifest["journalSequence"] == .null)
            let files = manifest["files"]?.arrayValue ?? []
            #expect(files.contains { $0["path"]?.stringValue == "db/CURRENT" })

            let listed = try await client.request(.get, "/v1/admin/backups")
            Self.conforms(listed, "GET")
            let backups = listed.json?["backups"]?.arrayValue ?? []
            #expect(backups.map { $0["id"]?.stringValue } == [id])
            #expect(backups.first?["fileCount"]?.int64Value == Int64(files.count))
            #expect(backups.first?["totalBytes"] == manifest["totalBytes"])
            #expect(backups.first?["files"] == nil)

            // The backup is where the configuration says, complete, and holds the events.
            let catalog = BackupCatalog(directory: fixture.configuration.resolvedBackupDirectory)
            #expect(fixture.configuration.resolvedBackupDirectory == fixture.directory + "-backups")
            let verification = try catalog.verify(id: id)
            #expect(verification.keyCount >= 51)
            let target = fixture.directory + "-restored"
            defer { try? FileManager.default.removeItem(atPath: target) }
            try catalog.restore(id: id, into: target)
            let restored = try CoordinatorStore(directory: target, durability: .strict)
            defer { restored.close() }
            for index in [0, 49] {
                #expect(try restored.event(id: "e-\(index)")?.event.name == "order/created")
            }
        }
    }

    @Test(
        "while a backup is under way (the directory's lock is held), another is refused with 409 conflict; then accepted"
    )
    func oneAtATime() async throws {
        try await RouterFixture.test { client, fixture in
            let directory = fixture.configuration.resolvedBackupDirectory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let descriptor = open(directory + "/.lock", O_RDWR | O_CREAT, 0o644)
            #expect(descriptor >= 0)
            #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
            let refused = try await client.request(.post, "/v1/admin/backups")
            close(descriptor)
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "conflict")
            Self.conforms(refused, "POST")
            #expect(try await client.request(.get, "/v1/admin/backups").json?["backups"]?.arrayValue?.count == 0)

            let accepted = try await client.request(.post, "/v1/admin/backups")
            #expect(accepted.status == .created)
        }
    }

    @Test("under API keys both need one: 401 without, as documented")
    func needsAnAPIKey() async throws {
        try await RouterFixture.test(configure: { $0.apiKeys = [RouteTests.key] }) { client, _ in
            for method in [HTTPRequest.Method.get, .post] {
                let refused = try await client.request(method, "/v1/admin/backups")
                #expect(refused.status == .unauthorized)
                Self.conforms(refused, method.rawValue)
            }
            let created = try await client.request(.post, "/v1/admin/backups", headers: RouteTests.auth)
            #expect(created.status == .created)
            let listed = try await client.request(.get, "/v1/admin/backups", headers: RouteTests.auth)
            #expect(listed.json?["backups"]?.arrayValue?.count == 1)
        }
    }

    @Test("a configured backup directory is used as it is")
    func configuredDirectory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tether-backups-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await RouterFixture.test(configure: { $0.backupDirectory = directory }) { client, _ in
            let created = try await client.request(.post, "/v1/admin/backups")
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(FileManager.default.fileExists(atPath: directory + "/" + id + "/manifest.json"))
        }
    }
}
