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

    @Option(help: "Broker address, host:port.")
    var broker: String = "127.0.0.1:1883"

    @Option(help: "Topic root.")
    var root: String = Topics.defaultRoot

    @Option(help: "The catalog file (for the task's input names).")
    var catalog = "catalog/default.json"

    @Option(help: "Time to wait for the result, ms (also the request's deadline).")
    var timeoutMs: Int = 10_000

    @Flag(help: "Print the result as TaskResult JSON (schema s2m3.task-result/1).")
    var json = false

    func run() async throws {
        guard timeoutMs >= 1 else { throw ValidationError("--timeout-ms must be at least 1") }
        let endpoint = try MQTTEndpoint(parsing: broker)
        let loaded: ModuleCatalog
        do { loaded = try AggregatorCatalog.load(path: catalog) } catch { throw ValidationError("\(error)") }
        guard let entry = loaded.tasks.first(where: { $0.id == task }) else {
            throw ValidationError("no task '\(task)' in \(catalog); tasks: \(loaded.tasks.map(\.id).joined(separator: ", "))")
        }
        let values = try inputs.inputs(for: entry.graph.inputs.map(\.id), optional: Set(entry.defaults.keys), task: task)
        var logger = Logger(label: "s2m3.request")
        logger.logLevel = .error
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "s2m3-request-\(UUID().uuidString.prefix(8).lowercased())"),
            logger: logger)
        let client = S2M3Client(connection: connection, topics: Topics(root: root), logger: logger)
        try await client.connect()
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
            print(RequestResultText.text(result, outputOrder: entry.outputNodes))
        }
    }
}

struct RequestCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A distributed result for people: the outputs, then one timeline row per invocation with its
/// device and where the time went (queue, compute, transfer).
enum RequestResultText {
    static func text(_ result: TaskResult, outputOrder: [String]) -> String {
        var lines: [String] = []
        let names = outputOrder.filter { result.outputs[$0] != nil } + result.outputs.keys.sorted().filter { !outputOrder.contains($0) }
        for name in names {
            switch result.outputs[name]! {
            case .labels(let labels):
                lines.append("\(name):")
                for label in labels.prefix(10) { lines.append("  " + format(label.score, 3) + "  " + label.label) }
            case .text(let text): lines.append("\(name): \(text.isEmpty ? "(empty)" : "\"\(text)\"")")
            case .texts(let texts):
                lines.append("\(name):\(texts.isEmpty ? " (none)" : "")")
                for text in texts { lines.append("  \(text)") }
            case .embedding(let values):
                lines.append("\(name): \(values.count) values [\(values.prefix(4).map { format(Double($0), 4) }.joined(separator: ", "))…]")
            }
        }
        lines.append("")
        lines.append("timeline (ms)         device         try    start      end   queued  compute transfer")
        for entry in result.timeline {
            let node = entry.node.padding(toLength: 20, withPad: " ", startingAt: 0)
            let device = entry.device.padding(toLength: 14, withPad: " ", startingAt: 0)
            let numbers = [entry.startMs, entry.endMs, entry.queuedMs, entry.computeMs, entry.transferMs]
                .map { pad(format($0, 1), 8) }.joined(separator: " ")
            lines.append("  \(node) \(device) \(pad(String(entry.attempt), 3)) \(numbers)  \(entry.module)")
        }
        lines.append("total \(format(result.totalMs, 1)) ms, plan epoch \(result.epoch), aggregator \(result.aggregator)")
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

    static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
