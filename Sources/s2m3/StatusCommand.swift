import ArgumentParser
import Foundation
import Logging
import MQTTBus
import S2M3Core
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// `s2m3 status`: the cluster as the bus alone shows it (no metrics endpoint): the retained plan
/// and states, every service's telemetry and the errors published, folded by ``ClusterStatus`` and
/// drawn by ``StatusText`` about once a second until Ctrl-C, or printed once (`--once`, `--json`).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the cluster live from the bus: plan, devices, modules, aggregators, planner, errors."
    )

    @OptionGroup var bus: BrokerOptions

    @Flag(help: "Print one snapshot and exit (after --wait-ms).")
    var once = false

    @Flag(help: "Print the snapshot as JSON (schema s2m3.cluster-status/1): with --once one object for scripts, else one per redraw.")
    var json = false

    @Option(help: "With --once: how long to listen for retained messages and a round of telemetry, ms.")
    var waitMs: Int = 1_500

    @Option(help: "Time between redraws, ms.")
    var intervalMs: Int = 1_000

    @Option(help: "MQTT client id (default: s2m3-status-{pid}).")
    var clientID: String?

    func validate() throws {
        guard (0...600_000).contains(waitMs) else { throw ValidationError("--wait-ms must be in 0…600000") }
        guard (50...600_000).contains(intervalMs) else { throw ValidationError("--interval-ms must be in 50…600000") }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let topics = Topics(root: bus.topicRoot)
        var logger = Logger(label: "s2m3.status", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: clientID ?? "s2m3-status-\(getpid())"), logger: logger)
        let status = StatusBoard(ClusterStatus(topics: topics))
        let messages = connection.messages
        do {
            try await connection.connect()
            for filter in status.state.withLock({ $0.subscriptions }) { try await connection.subscribe(filter) }
        } catch {
            throw BrokerConnectHint.explain(error, broker: broker)
        }
        let address = broker.endpoints.map(\.description).joined(separator: ", ")
        let draw = { @Sendable (clear: Bool) in
            let snapshot = status.state.withLock { $0.snapshot(nowMs: Self.nowMs()) }
            let text = json ? Self.json(snapshot) : StatusText.render(snapshot, broker: address, root: topics.root)
            print((clear ? "\u{1B}[H\u{1B}[2J" : "") + text)
            fflush(nil)
        }
        let watch = { @Sendable [once, waitMs, intervalMs] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await message in messages {
                        status.state.withLock { _ = $0.receive(topic: message.topic, payload: message.payload, nowMs: Self.nowMs()) }
                    }
                }
                if once {
                    try? await Task.sleep(for: .milliseconds(waitMs))
                    draw(false)
                } else {
                    // Until SIGINT/SIGTERM (graceful shutdown cancels the loop).
                    try? await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            draw(!json)
                            try await Task.sleep(for: .milliseconds(intervalMs))
                        }
                    }
                }
                await connection.disconnect()
                group.cancelAll()
            }
        }
        if once {
            await watch()
        } else {
            // A service of its own, so that SIGINT/SIGTERM end the redraw loop gracefully.
            try await ProcessServices.run([TaskService { await watch() }], logger: logger, maximumShutdown: .seconds(5))
        }
    }

    static func json(_ snapshot: ClusterSnapshot) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(snapshot) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func nowMs() -> Int { WallClock.milliseconds }
}

/// The status shared by the task reading the bus and the one drawing (one lock around it).
final class StatusBoard: Sendable {
    let state: Mutex<ClusterStatus>
    init(_ status: ClusterStatus) { state = Mutex(status) }
}
