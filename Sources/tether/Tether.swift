import ArgumentParser

@main
struct TetherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tether",
        abstract: "Tether: durable functions for Swift. Coordinator, client and tools.",
        version: "0.1.0",
        subcommands: [
            DevCommand.self, ServeCommand.self, SendCommand.self, RunsCommand.self, StatusCommand.self,
            KeysCommand.self, CertsCommand.self, BenchCommand.self,
        ])
}
