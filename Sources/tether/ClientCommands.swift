import ArgumentParser
import Foundation
import Tether
import TetherClient
import TetherEngine

/// `--url` and the API key, shared by the client commands.
struct ClientOptions: ParsableArguments {
    @Option(
        help: """
            The coordinator's HTTP address, http:// or https:// (default $TETHER_URL or http://127.0.0.1:7420); \
            https trusts the PEM CA in $TETHER_CA_FILE besides the system's roots.
            """)
    var url: String?

    /// A client of the coordinator; `timeout` bounds each request.
    func client(timeout: Duration = .seconds(30)) throws -> TetherClient {
        let environment = ProcessInfo.processInfo.environment
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return try TetherClient(
            url: url ?? variable("TETHER_URL") ?? "http://127.0.0.1:7420", apiKey: variable("TETHER_API_KEY"),
            timeout: timeout, caCertificateFile: variable("TETHER_CA_FILE"))
    }
}

/// Runs a client call, turning the API's error into the command's error.
func calling<Value>(_ body: () async throws -> Value) async throws -> Value {
    do {
        return try await body()
    } catch let error as TetherError {
        throw CLIError("\(error.code): \(error.message)")
    }
}

/// A value of the API as the coordinator sends it (compact JSON, keys sorted), for `--json`.
func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try TetherClient.encode(value), as: UTF8.self))
}

/// `2026-11-23T11:07:00.123Z`, as the API sends it, or `-` for null.
func time(_ value: Nullable<Date>) -> String {
    value.value.flatMap { try? APIDateTranscoder().encode($0) } ?? "-"
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
        let client = try client.client()
        let receipt = try await calling { try await client.send(name, data: parsed, id: id) }
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
            let client = try client.client()
            _ = try await calling { try await client.cancel(id) }
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
            var runStatus: Components.Schemas.RunStatus?
            if let status {
                guard let parsed = Components.Schemas.RunStatus(rawValue: status) else {
                    let all = Components.Schemas.RunStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ValidationError("--status must be one of \(all)")
                }
                runStatus = parsed
            }
            let client = try client.client()
            let page = try await calling { try await client.runs(function: function, status: runStatus, limit: limit) }
            if json {
                try printJSON(page)
                return
            }
            print(pad("RUN", 28) + pad("FUNCTION", 32) + pad("STATUS", 11) + "STARTED")
            for run in page.runs {
                print(pad(run.id, 28) + pad(run.function, 32) + pad(run.status.rawValue, 11) + time(run.startedAt))
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
            let client = try client.client()
            let run = try await calling { try await client.run(id) }
            if json {
                try printJSON(run)
                return
            }
            print("run       \(run.id)")
            print("function  \(run.function)")
            print("status    \(run.status.rawValue)")
            print("started   \(time(run.startedAt))")
            print("ended     \(time(run.endedAt))")
            if !run.output.isNull {
                print("output    \(String(decoding: run.output.serialized(), as: UTF8.self))")
            }
            if let error = run.error.value {
                print("error     \(error.code): \(error.message)")
            }
            print("\nsteps (\(run.steps.count)):")
            print(
                "  " + pad("STEP", 24) + pad("KIND", 14) + pad("STATUS", 10) + pad("ATTEMPTS", 10) + pad("WORKER", 28)
                    + "DURATION")
            for step in run.steps {
                print(
                    "  " + pad(step.id, 24) + pad(step.kind.rawValue, 14) + pad(step.status.rawValue, 10)
                        + pad(String(step.attempts), 10) + pad(step.worker.value ?? "-", 28)
                        + duration(step.startedAt.value, step.endedAt.value))
                if let wake = step.wakeAt {
                    print("      wakes at \(time(wake))")
                }
                if let wait = step.waitFor {
                    let match = wait.match.value.map { " matching \($0)" } ?? ""
                    print("      waits for '\(wait.event)'\(match) until \(time(wait.timeoutAt))")
                }
                if let child = step.childRun?.value {
                    print("      invoked run \(child)")
                }
                if let error = step.error.value {
                    print("      error: \(error.message)")
                }
            }
        }
    }
}

/// `tether status [--json]`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the node's cluster role, workers, capacity and queues.")

    @Flag(help: "Print the JSON answer.")
    var json = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let client = try client.client()
        let status = try await calling { try await client.status() }
        if json {
            try printJSON(status)
            return
        }
        // A coordinator older than `GET /v1/cluster` answers 404: the status goes without the line.
        let cluster = try? await client.cluster()
        let coordinator = status.coordinator
        let capacity = status.capacity
        print(
            "coordinator \(coordinator.version) (\(coordinator.durability.rawValue)), up since \(time(Nullable(coordinator.startedAt)))"
        )
        if let cluster {
            print("cluster     \(Self.clusterLine(cluster))")
        }
        print("capacity    \(capacity.inFlight) in flight / \(capacity.total) slots, \(capacity.available) available")
        print("queue       \(status.queue.depth) queued, oldest \(status.queue.oldestAgeMs) ms")
        print("\nworkers (\(status.workers.count)):")
        for worker in status.workers {
            print(
                "  " + pad(worker.instanceId, 32) + pad(worker.app, 16) + pad(worker.status.rawValue, 8)
                    + "\(worker.inFlight)/\(worker.capacity)")
        }
        print("\nfunctions (\(status.functions.count)):")
        for function in status.functions {
            // Flow-control counts only when there are some, so a plain function keeps its short line.
            let extras = [("keys", function.keyCount), ("debouncing", function.debouncing), ("batched", function.batched)]
                .compactMap { label, count in count > 0 ? ", \(label) \(count)" : nil }
            print(
                "  " + pad(function.id, 40) + "queued \(function.queued), running \(function.running)" + extras.joined())
        }
    }

    /// The node's role and epoch, the leader it knows of, and how far its store is behind the
    /// journal: `node-b is a standby, epoch 3, leader node-a at 10.0.0.5:7420; journal 1200 of
    /// 1204 applied, lag 35 ms`. It is the view of the node `--url` names: a standby answers
    /// `/v1/cluster` itself, while the rest of the status comes from the leader.
    static func clusterLine(_ cluster: Components.Schemas.Cluster) -> String {
        let node = cluster.nodeId
        var line: String
        switch (cluster.role, cluster.leader.value) {
        case (.single, _):
            return "\(node) is a single node (no journal)"
        case (.leader, let leader?) where leader.nodeId == node:
            line = "\(node) is the leader at \(leader.http), epoch \(cluster.epoch)"
        case (let role, let leader):
            line = "\(node) is \(role == .leader ? "the leader" : "a standby"), epoch \(cluster.epoch), "
            line += leader.map { "leader \($0.nodeId) at \($0.http)" } ?? "no leader known"
        }
        if let journal = cluster.journal.value {
            line += "; journal \(journal.appliedSeq) of \(journal.lastSeq) applied, lag \(journal.lagMs) ms"
        }
        return line
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func duration(_ start: Date?, _ end: Date?) -> String {
    guard let start, let end else { return "-" }
    return String(format: "%.1f ms", end.timeIntervalSince(start) * 1_000)
}
