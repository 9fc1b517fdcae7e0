import ArgumentParser
import Foundation
import Tether
import TetherEngine

/// `--url` and the API key, shared by the client commands.
struct ClientOptions: ParsableArguments {
    @Option(help: "The coordinator's HTTP address (default $TETHER_URL or http://127.0.0.1:7420).")
    var url: String?

    func client() throws -> TetherClient {
        let environment = ProcessInfo.processInfo.environment
        return try TetherClient(
            url: url ?? environment["TETHER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:7420",
            apiKey: environment["TETHER_API_KEY"].flatMap { $0.isEmpty ? nil : $0 })
    }
}

/// Fails the command with the API's error, if the response is one.
func failOnError(_ response: TetherClient.Response) throws {
    do {
        try response.throwIfError()
    } catch {
        throw CLIError("\(error.code): \(error.message)")
    }
}

/// An error of a command that ran (not a usage error): printed as `Error: …`, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `tether send NAME [--data JSON] [--id ID]`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "send", abstract: "Send an event.")

    @Argument(help: "The event name, e.g. order/created.")
    var name: String

    @Option(help: "The event's data, a JSON object.")
    var data: String = "{}"

    @Option(help: "An idempotency id: sending the same id again starts nothing.")
    var id: String?

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let parsed: JSONValue
        do {
            parsed = try JSONValue(parsing: data)
        } catch {
            throw ValidationError("--data is not valid JSON: \(error.message)")
        }
        let receipt: (eventId: String, runIds: [String])
        do {
            receipt = try await client.client().send(name, data: parsed, id: id)
        } catch let error as TetherError {
            throw CLIError("\(error.code): \(error.message)")
        }
        print("event \(receipt.eventId)")
        for run in receipt.runIds {
            print("  run \(run)")
        }
    }
}

/// `tether runs list|show ID`.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List, inspect and cancel runs.", subcommands: [List.self, Show.self, Cancel.self])

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an active run: it dispatches nothing more.")

        @Argument(help: "The run id.")
        var id: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let response = try await client.client().request(
                .POST, "/v1/runs/" + (id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id) + "/cancel")
            try failOnError(response)
            print("run \(id) cancelled")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")

        @Option(help: "Only runs of this function (app:function).")
        var function: String?

        @Option(help: "Only runs with this status.")
        var status: String?

        @Option(help: "How many runs.")
        var limit: Int = 20

        @Flag(help: "Print the JSON answer.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            var query = "?limit=\(limit)"
            if let function { query += "&function=\(function.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? function)" }
            if let status { query += "&status=\(status)" }
            let response = try await client.client().request(.GET, "/v1/runs" + query)
            try failOnError(response)
            if json {
                print(response.text, terminator: "")
                return
            }
            let runs = response.json?["runs"]?.arrayValue ?? []
            print(pad("RUN", 28) + pad("FUNCTION", 32) + pad("STATUS", 11) + "STARTED")
            for run in runs {
                print(
                    pad(run["id"]?.stringValue ?? "", 28) + pad(run["function"]?.stringValue ?? "", 32)
                        + pad(run["status"]?.stringValue ?? "", 11) + (run["startedAt"]?.stringValue ?? "-"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run with its steps.")

        @Argument(help: "The run id.")
        var id: String

        @Flag(help: "Print the JSON answer.")
        var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let response = try await client.client().request(
                .GET, "/v1/runs/" + (id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id))
            try failOnError(response)
            guard !json, let run = response.json else {
                print(response.text, terminator: "")
                return
            }
            print("run       \(run["id"]?.stringValue ?? "")")
            print("function  \(run["function"]?.stringValue ?? "")")
            print("status    \(run["status"]?.stringValue ?? "")")
            print("started   \(run["startedAt"]?.stringValue ?? "-")")
            print("ended     \(run["endedAt"]?.stringValue ?? "-")")
            if let output = run["output"], !output.isNull {
                print("output    \(String(decoding: output.serialized(), as: UTF8.self))")
            }
            if let error = run["error"], !error.isNull {
                print("error     \(error["code"]?.stringValue ?? ""): \(error["message"]?.stringValue ?? "")")
            }
            let steps = run["steps"]?.arrayValue ?? []
            print("\nsteps (\(steps.count)):")
            print(
                "  " + pad("STEP", 24) + pad("KIND", 14) + pad("STATUS", 10) + pad("ATTEMPTS", 10) + pad("WORKER", 28)
                    + "DURATION")
            for step in steps {
                print(
                    "  " + pad(step["id"]?.stringValue ?? "", 24) + pad(step["kind"]?.stringValue ?? "run", 14)
                        + pad(step["status"]?.stringValue ?? "", 10) + pad(String(step["attempts"]?.int64Value ?? 0), 10)
                        + pad(step["worker"]?.stringValue ?? "-", 28)
                        + duration(step["startedAt"]?.stringValue, step["endedAt"]?.stringValue))
                if let wake = step["wakeAt"]?.stringValue {
                    print("      wakes at \(wake)")
                }
                if let wait = step["waitFor"], !wait.isNull {
                    let match = wait["match"]?.stringValue.map { " matching \($0)" } ?? ""
                    print("      waits for '\(wait["event"]?.stringValue ?? "")'\(match) until \(wait["timeoutAt"]?.stringValue ?? "-")")
                }
                if let child = step["childRun"]?.stringValue {
                    print("      invoked run \(child)")
                }
                if let error = step["error"], !error.isNull {
                    print("      error: \(error["message"]?.stringValue ?? "")")
                }
            }
        }
    }
}

/// `tether status [--json]`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show workers, capacity and queues.")

    @Flag(help: "Print the JSON answer.")
    var json = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let response = try await client.client().request(.GET, "/v1/status")
        try failOnError(response)
        guard !json, let status = response.json else {
            print(response.text, terminator: "")
            return
        }
        let coordinator = status["coordinator"]
        let capacity = status["capacity"]
        print(
            "coordinator \(coordinator?["version"]?.stringValue ?? "") (\(coordinator?["durability"]?.stringValue ?? "")), up since \(coordinator?["startedAt"]?.stringValue ?? "")"
        )
        print(
            "capacity    \(capacity?["inFlight"]?.int64Value ?? 0) in flight / \(capacity?["total"]?.int64Value ?? 0) slots, \(capacity?["available"]?.int64Value ?? 0) available"
        )
        print(
            "queue       \(status["queue"]?["depth"]?.int64Value ?? 0) queued, oldest \(status["queue"]?["oldestAgeMs"]?.int64Value ?? 0) ms"
        )
        let workers = status["workers"]?.arrayValue ?? []
        print("\nworkers (\(workers.count)):")
        for worker in workers {
            print(
                "  " + pad(worker["instanceId"]?.stringValue ?? "", 32) + pad(worker["app"]?.stringValue ?? "", 16)
                    + pad(worker["status"]?.stringValue ?? "", 8)
                    + "\(worker["inFlight"]?.int64Value ?? 0)/\(worker["capacity"]?.int64Value ?? 0)")
        }
        let functions = status["functions"]?.arrayValue ?? []
        print("\nfunctions (\(functions.count)):")
        for function in functions {
            // Flow-control counts only when there are some, so a plain function keeps its short line.
            let extras = [("keyCount", "keys"), ("debouncing", "debouncing"), ("batched", "batched")].compactMap {
                field, label -> String? in
                let count = function[field]?.int64Value ?? 0
                return count > 0 ? ", \(label) \(count)" : nil
            }
            print(
                "  " + pad(function["id"]?.stringValue ?? "", 40)
                    + "queued \(function["queued"]?.int64Value ?? 0), running \(function["running"]?.int64Value ?? 0)"
                    + extras.joined())
        }
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func duration(_ start: String?, _ end: String?) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let start, let end, let a = formatter.date(from: start), let b = formatter.date(from: end) else { return "-" }
    return String(format: "%.1f ms", b.timeIntervalSince(a) * 1_000)
}
