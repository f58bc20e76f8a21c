import Aggregator
import ArgumentParser
import Catalog
import Foundation
import Logging
import MQTTBus
import S2M3Client
import S2M3Core

/// `s2m3 request <task>`: sends one request to the cluster's aggregators and prints the result with
/// its timeline (which device ran each module; queue, compute and transfer time).
struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Send a task request to the cluster and print the result and its timeline.",
        discussion: "Example: s2m3 request match-image-text --image cat.jpg --text 'a cat' --text 'a dog'"
    )

    @Argument(help: "The task (see `s2m3 catalog`).")
    var task: String

    @OptionGroup var inputs: TaskInputOptions

    @OptionGroup var bus: BrokerOptions

    @Option(help: "The catalog file (for the task's input names).")
    var catalog = "catalog/default.json"

    @Option(help: "Time to wait for the result, ms (also the request's deadline).")
    var timeoutMs: Int = 10_000

    @Flag(help: "Print the result as TaskResult JSON (schema s2m3.task-result/1).")
    var json = false

    func run() async throws {
        guard timeoutMs >= 1 else { throw ValidationError("--timeout-ms must be at least 1") }
        let broker = try bus.configuration()
        let loaded: ModuleCatalog
        do { loaded = try AggregatorCatalog.load(path: catalog) } catch { throw ValidationError("\(error)") }
        guard let entry = loaded.tasks.first(where: { $0.id == task }) else {
            throw ValidationError("no task '\(task)' in \(catalog); tasks: \(loaded.tasks.map(\.id).joined(separator: ", "))")
        }
        let values = try inputs.inputs(
            for: entry.graph.inputs.map(\.id), optional: Set(entry.defaults.keys),
            tensors: TaskInterface.tensorDeclarations(of: entry, in: loaded), task: task)
        var logger = Logger(label: "s2m3.request")
        logger.logLevel = .error
        // With a login the client id is the user name: a secure broker (use_username_as_clientid)
        // makes it so anyway, and its ACL lets the identity read only clients/{identity}/….
        let client = S2M3Client(
            broker: broker, clientID: broker.username ?? "s2m3-request-\(UUID().uuidString.prefix(8).lowercased())", topics: Topics(root: bus.topicRoot),
            logger: logger)
        do { try await client.connect() } catch { throw BrokerConnectHint.explain(error, broker: broker) }
        let result: TaskResult
        do {
            result = try await client.request(task: task, inputs: values, timeout: .milliseconds(timeoutMs))
        } catch let error as S2M3ClientError {
            await client.close()
            throw RequestCommandError(error.description)
        }
        await client.close()
        if json {
            print(String(decoding: try result.jsonData(pretty: true), as: UTF8.self))
        } else {
            print(TaskResultText.text(result, outputOrder: entry.outputNodes, timeline: .distributed, labelLimit: 10))
        }
    }
}

struct RequestCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
