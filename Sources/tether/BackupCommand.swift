import ArgumentParser
import Foundation
import TetherClient
import TetherCoordinator
import TetherStore

/// `tether backup create|list|verify|restore|prune` (docs/operations.md, "Backups").
///
/// `create` (and `list` without `--dir`) ask the running coordinator; the others work on a backup
/// directory offline, with no coordinator needed.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Create, list, verify, restore and prune backups of the coordinator's store.",
        discussion: """
            A backup is an online RocksDB checkpoint of the live store with a manifest (every file's \
            size and SHA-256), in its own directory of the coordinator's backup directory (tether dev: \
            DATA/backups; tether serve: "backups" in the file, --backups, or <data>-backups). \
            create and list ask the running coordinator (--url, TETHER_URL, TETHER_API_KEY); list \
            --dir, verify, restore and prune read the backup directory itself.
            """,
        subcommands: [Create.self, List.self, Verify.self, Restore.self, Prune.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back up the running coordinator's store, online, into its backup directory.")

        @Flag(help: "Print the manifest as JSON.")
        var json = false

        @Option(help: "Seconds to wait for the backup: it reads the whole store (default 3600).")
        var timeout: Int = 3_600

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
        }

        func run() async throws {
            let client = try client.client(timeout: .seconds(timeout))
            let manifest = try await calling { try await client.createBackup() }
            if json {
                try printJSON(manifest)
                return
            }
            print("backup \(manifest.id) created")
            print("  created      \(time(Nullable(manifest.createdAt)))")
            print("  files        \(manifest.files.count), \(byteText(manifest.totalBytes))")
            print(
                "  coordinator  \(manifest.coordinatorVersion), key layout \(manifest.keyLayoutVersion.value.map(String.init) ?? "-")"
            )
            if let sequence = manifest.journalSequence.value {
                print("  journal      up to \(sequence)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List backups, newest first: the coordinator's, or those in a directory (--dir).")

        @Option(help: "Read this backup directory instead of asking the coordinator.")
        var dir: String?

        @Flag(help: "Print the list as JSON.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let backups: [Components.Schemas.BackupSummary]
            if let dir {
                backups = try offline { try BackupCatalog(directory: dir).list() }.map(
                    Components.Schemas.BackupSummary.init)
            } else {
                let client = try client.client()
                backups = try await calling { try await client.backups() }
            }
            if json {
                try printJSON(Components.Schemas.BackupList(backups: backups))
                return
            }
            print(pad("BACKUP", 28) + pad("CREATED", 26) + pad("SIZE", 12) + pad("FILES", 7) + "JOURNAL")
            for backup in backups {
                print(
                    pad(backup.id, 28) + pad(time(Nullable(backup.createdAt)), 26)
                        + pad(byteText(backup.totalBytes), 12)
                        + pad(String(backup.fileCount), 7) + (backup.journalSequence.value.map(String.init) ?? "-"))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a backup: every file against its manifest, then every key with checksums (exit 1 if not).")

        @Argument(help: "The backup's id.")
        var id: String

        @Option(help: "The backup directory.")
        var dir: String

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            let result = try offline { try BackupCatalog(directory: dir).verify(id: id) }
            if json {
                print(
                    #"{"fileCount":\#(result.fileCount),"id":"\#(result.id)","keyCount":\#(result.keyCount),"ok":true,"totalBytes":\#(result.totalBytes)}"#
                )
                return
            }
            print(
                "backup \(result.id) is intact: \(result.fileCount) files (\(byteText(Int(result.totalBytes)))) match its manifest, \(result.keyCount) keys read with checksums"
            )
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a backup and copy it into a new data directory, for a coordinator to start on.",
            discussion: """
                --data TARGET is a database directory, as "data" in tether serve's file: start with \
                tether serve --config FILE --data TARGET. --dev DIR is a tether dev directory: the \
                database goes to DIR/db; start with tether dev --data DIR (it makes a new signing key \
                and TLS files unless DIR has them: copy signing-key and tls/ from the old directory to \
                keep your workers' settings). The target must be new or empty; nothing is overwritten. \
                A restore only reads the backup: the coordinator may keep running meanwhile.
                """)

        @Argument(help: "The backup's id.")
        var id: String

        @Option(help: "The backup directory.")
        var dir: String

        @Option(help: "The database directory to create (as tether serve's data).")
        var data: String?

        @Option(help: "A tether dev directory: the database goes to DEV/db.")
        var dev: String?

        func validate() throws {
            guard (data == nil) != (dev == nil) else {
                throw ValidationError(
                    "give exactly one of --data TARGET (tether serve's data) or --dev DIR (tether dev --data DIR)")
            }
        }

        func run() throws {
            let target = data ?? (dev.map { URL(fileURLWithPath: $0).standardizedFileURL.path + "/db" } ?? "")
            let result = try offline { try BackupCatalog(directory: dir).restore(id: id, into: target) }
            print(
                "restored backup \(result.id) into \(target): \(result.fileCount) files (\(byteText(Int(result.totalBytes)))), \(result.keyCount) keys"
            )
            if let dev {
                print("start it with: tether dev --data \(dev)")
            } else {
                print("start it with: tether serve --config FILE --data \(target)")
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete all but the newest backups in a backup directory.")

        @Option(help: "How many of the newest complete backups to keep (at least 1).")
        var keep: Int

        @Option(help: "The backup directory.")
        var dir: String

        func validate() throws {
            guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
        }

        func run() throws {
            let deleted = try offline { try BackupCatalog(directory: dir).prune(keep: keep) }
            print(deleted.isEmpty ? "nothing to delete" : "deleted \(deleted.count): \(deleted.joined(separator: " "))")
        }
    }
}

/// Runs a backup-directory call, turning the store's error into the command's (exit status 1).
func offline<Value>(_ body: () throws -> Value) throws -> Value {
    do {
        return try body()
    } catch let error as StoreError {
        throw CLIError("\(error.code): \(error.message)")
    }
}

/// `1.5 MiB`, `312 B`.
func byteText(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1_024 && unit < units.count - 1 {
        value /= 1_024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
}
