import ArgumentParser
import Foundation
import Logging
import MQTTBus
import S2M3Core

/// `s2m3 watch`: prints a source's stream results as they come (`results/+/{source}`), one block
/// per result (frame or utterance with its times, task, latency, outputs, the nodes it shared),
/// or the results as JSON lines.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print a stream's results as they arrive (results/+/{source}).",
        discussion: "Example: s2m3 watch --source cam-1"
    )

    @Option(help: "The source whose results to print.")
    var source: String

    @Option(help: "Only this task's results.")
    var task: String?

    @Option(help: "Exit after this many results (0: until interrupted).")
    var count: Int = 0

    @Flag(help: "Print each result as one line of TaskResult JSON.")
    var json = false

    @OptionGroup var bus: BrokerOptions

    func validate() throws {
        guard Topics.isValidIdentifier(source) else { throw ValidationError("--source must be an identifier") }
        if let task, !Topics.isValidIdentifier(task) { throw ValidationError("--task must be an identifier") }
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let topics = Topics(root: bus.topicRoot)
        var logger = Logger(label: "s2m3.watch", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: broker.username ?? "s2m3-watch-\(getpid())"), logger: logger)
        let messages = connection.messages
        do {
            try await connection.connect()
            try await connection.subscribe(topics.streamResults(task ?? "+", source: source))
        } catch {
            throw BrokerConnectHint.explain(error, broker: broker)
        }
        print("watching \(topics.streamResults(task ?? "+", source: source))")
        fflush(nil)
        var seen = 0
        for await message in messages {
            guard let result = try? TaskResult(json: message.payload) else { continue }
            if json {
                print(String(decoding: try result.jsonData(), as: UTF8.self))
            } else {
                let frame = result.utterance.map(Self.describe) ?? result.frame.map { "#\($0.sequence)" } ?? "-"
                let shared = result.timeline.filter { $0.sharedWith != nil }.map(\.node)
                print("\(source) \(frame) \(result.task) \(TaskResultText.format(result.totalMs, 1)) ms" + (shared.isEmpty ? "" : ", shared: \(shared.joined(separator: " "))"))
                for line in TaskResultText.outputs(result, outputOrder: result.outputs.keys.sorted(), labelLimit: 3) { print("  " + line) }
            }
            fflush(nil)
            seen += 1
            if count > 0, seen >= count { break }
        }
        await connection.disconnect()
    }

    /// An utterance as `utterance 2 at 3.20–4.85 s` (seconds into the stream), with why it ended
    /// when not by silence and a mark when audio was lost.
    static func describe(_ utterance: StreamUtterance) -> String {
        var text = "utterance \(utterance.index) at " + String(format: "%.2f–%.2f s", utterance.startMs / 1000, utterance.endMs / 1000)
        if utterance.endReason != .silence { text += " (ended: \(utterance.endReason.rawValue))" }
        if utterance.gap { text += " [audio lost]" }
        return text
    }
}
