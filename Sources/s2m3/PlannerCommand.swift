import ArgumentParser
import Foundation
import Logging
import MQTTBus
import Planner
import S2M3Core

/// `s2m3 planner`: the planner service. Places the modules and tasks of a placement instance
/// (its devices are ignored) on the devices that announce themselves on the broker, and publishes
/// the retained plan and per-device assignments whenever the live device set changes.
struct PlannerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planner",
        abstract: "Run the planner service (modules and tasks from a placement instance, devices from the broker)."
    )

    @Option(help: "Broker address, host:port.")
    var broker: String = "127.0.0.1:1883"

    @Option(help: "Placement instance file (JSON, docs/placement.md); its modules and tasks are planned.")
    var instance: String

    @Option(help: "Topic root.")
    var root: String = Topics.defaultRoot

    @Option(help: "Placement algorithm: greedy, exact or auto.")
    var algorithm: PlacementAlgorithm = .auto

    @Option(help: "MQTT client id.")
    var clientID: String = "s2m3-planner"

    func run() async throws {
        let endpoint = try MQTTEndpoint(parsing: broker)
        guard Topics.isValidIdentifier(root.replacingOccurrences(of: "/", with: "")) else {
            throw PlanCommandError("--root '\(root)' must be identifier segments separated by '/'")
        }
        let parsed: PlacementInstance
        do {
            parsed = try PlacementInstance(json: try Data(contentsOf: URL(fileURLWithPath: instance)))
        } catch let error as PlacementError {
            throw PlanCommandError("\(instance): \(error.message)")
        } catch {
            throw PlanCommandError("cannot read the instance file '\(instance)': \(error.localizedDescription)")
        }
        var logger = Logger(label: "s2m3.planner")
        logger.logLevel = .info
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: clientID), logger: logger)
        let service = PlannerService(
            connection: connection, instance: parsed, algorithm: algorithm, topics: Topics(root: root), logger: logger)
        try await service.run()
    }
}
