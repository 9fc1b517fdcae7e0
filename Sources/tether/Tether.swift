import ArgumentParser
import TetherBench
import TetherEngine

@main
struct TetherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tether",
        abstract: "Tether: durable functions for Swift. Coordinator, client and tools.",
        version: TetherVersion.current,
        subcommands: [
            DevCommand.self, ServeCommand.self, SendCommand.self, RunsCommand.self, StatusCommand.self,
            BackupCommand.self, KeysCommand.self, CertsCommand.self, BenchCommand.self,
        ])
}
