import ArgumentParser
import Catalog
import Foundation
import LocalCluster
import Logging
import MQTTBus
import PlacementPlanning
import Planner
import S2M3Bus
import S2M3Core
import ServiceSupport

/// `s2m3 planner`: the planner service. Places the modules and tasks of the module catalog (or of
/// a placement instance file, whose devices are ignored) on the devices that announce themselves
/// on the broker, and publishes the retained plan and per-device assignments whenever the live
/// device set changes.
struct PlannerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planner",
        abstract: "Run the planner service (modules and tasks from the catalog, devices from the broker)."
    )

    @OptionGroup var bus: BrokerOptions

    @OptionGroup var metrics: MetricsOptions

    @Option(help: "Module catalog (default: catalog/default.json unless --instance is given).")
    var catalog: String?

    @Option(help: "Folder of the module files (default: ${S2M3_CACHE:-.cache}/models).")
    var models: String?

    @Option(help: "Placement instance file (JSON, docs/placement.md) instead of the catalog.")
    var instance: String?

    @Option(help: "Placement algorithm: greedy, exact or auto.")
    var algorithm: PlacementAlgorithm = .auto

    @Option(help: "MQTT client id.")
    var clientID: String = "s2m3-planner"

    @Option(help: "Planner id (its state is planners/{id}/state).")
    var id: String = "planner"

    @Flag(help: "Administer the broker's dynamic-security plugin (broker-config/secure.conf): each device may receive only the invocations of the modules the plan gives it. The login must be the plugin's administrator (the planner identity of make-credentials.sh).")
    var dynamicSecurity = false

    @Flag(help: "Plan with the catalog's cost figures only: do not learn module times and the link latency from telemetry (each device's speed is calibrated instead; docs/placement.md).")
    var noLearning = false

    func run() async throws {
        let broker = try bus.configuration()
        let root = bus.topicRoot
        guard Topics.isValidIdentifier(id) else { throw ValidationError("--id '\(id)' must be 1–128 letters, digits, '-', '_', '.'") }
        var logger = Logger(label: "s2m3.planner")
        logger.logLevel = .info
        let endpoint = try metrics.services(logger: logger)
        let problem: PlacementInstance
        var digests: [String: String] = [:]
        if let instance {
            guard catalog == nil else { throw ValidationError("give --catalog or --instance, not both") }
            problem = try Self.readInstance(instance)
        } else {
            let placement = try await ClusterCatalog.load(catalog: catalog, models: models).placement
            problem = placement.instance
            digests = placement.digests
            logger.info("catalog: \(problem.modules.count) distinct modules, \(problem.tasks.count) tasks")
        }
        // The will marks the planner offline on planners/{id}/state when its connection dies.
        let presence = ServicePresence(role: .planner, id: id, topics: Topics(root: root))
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: clientID, will: try presence.will()), logger: logger)
        var learning = PlannerStateMachine.LearningPolicy()
        learning.enabled = !noLearning
        let service = PlannerService(
            connection: connection, instance: problem, algorithm: algorithm, topics: Topics(root: root),
            digests: digests, presence: presence, dynamicSecurity: dynamicSecurity, learning: learning, logger: logger)
        // SIGTERM / SIGINT: no new plan, a publication in progress finishes, disconnect, exit 0.
        do { try await ProcessServices.run(endpoint + [service], logger: logger) } catch { throw BrokerConnectHint.explain(error, broker: broker) }
    }

    static func readInstance(_ path: String) throws -> PlacementInstance {
        do {
            return try PlacementInstance(json: try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch let error as PlacementError {
            throw PlanCommandError("\(path): \(error.message)")
        } catch {
            throw PlanCommandError("cannot read the instance file '\(path)': \(error.localizedDescription)")
        }
    }
}
