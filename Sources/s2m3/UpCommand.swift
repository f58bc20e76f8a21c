import ArgumentParser
import Dispatch
import Foundation
import LocalBroker
import MQTTBus
import S2M3Core

/// `s2m3 up`: the embedded default, a local cluster on this machine: a Mosquitto broker from
/// `broker-config/dev.conf` on a free loopback port (or an existing broker given with `--broker`),
/// then as child processes of this executable the planner, one aggregator and N device agents
/// with memory budgets chosen so that no single device can hold every module. It waits until
/// every device has applied the plan, prints where each module went, and serves until Ctrl-C or
/// SIGTERM (with `--demo`: runs the demo, then stops), stopping the children and then the broker.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local cluster: a Mosquitto broker, the planner, an aggregator and N devices, until Ctrl-C."
    )

    @Option(help: "Number of device agents.")
    var devices = 3

    @Option(help: "Memory budget of each device (bytes, or e.g. 300MiB, 1GB; default: from the measured modules).")
    var deviceMemory: MemoryBudgetArgument?

    @Option(help: "Use this running broker (host:port) instead of starting one.")
    var broker: String?

    @Option(help: "Broker config template to start (default: broker-config/dev.conf).")
    var brokerConfig: String?

    @Option(help: "Port for the started broker (default: a free port).")
    var port: Int?

    @OptionGroup var modules: CatalogOptions

    @Option(help: "Topic root.")
    var root: String = Topics.defaultRoot

    @Option(help: "Folder for the services' logs (default: a new folder under the temporary directory).")
    var logs: String?

    @Option(help: "Seconds to wait for every device to apply the plan.")
    var readyTimeout: Double = 300

    @Flag(help: "Run the demo once the cluster is ready, then stop.")
    var demo = false

    @Option(help: "Give every device this compute speed (GFLOP/s) instead of measuring it (a reproducible plan).")
    var deviceGflops: Double?

    @Flag(help: "Make the aggregator send one invocation of a request at a time (to measure what parallel branches gain).")
    var sequential = false

    func validate() throws {
        guard (1...64).contains(devices) else { throw ValidationError("--devices must be between 1 and 64") }
        guard readyTimeout > 0, readyTimeout <= 86_400 else { throw ValidationError("--ready-timeout must be in (0, 86400] seconds") }
    }

    func run() async throws {
        let signals = ShutdownSignals()
        let cluster = try await ClusterCatalog.load(catalog: modules.catalog, models: modules.models)
        print(ClusterReport.catalogLine(cluster))
        let (total, largest) = cluster.placement.moduleMemory
        let budget = deviceMemory?.bytes ?? ClusterReport.deviceBudget(total: total, largest: largest, devices: devices)
        print("devices: \(devices) × \(ClusterReport.mib(budget)) (together \(ClusterReport.mib(budget * devices)); "
            + (budget < total ? "no single device can hold all \(ClusterReport.mib(total))" : "one device can hold every module") + ")")

        let mosquitto: MosquittoProcess?
        let endpoint: MQTTEndpoint
        if let broker {
            endpoint = try MQTTEndpoint(parsing: broker)
            mosquitto = nil
            print("broker: mqtt://\(endpoint) (external)")
        } else {
            let template = try brokerConfig ?? BrokerConfigLocator.find("dev.conf")
            var configuration = MosquittoProcessConfiguration(template: template)
            if let port { configuration.ports = [port] }
            let started = try await MosquittoProcess.start(configuration)
            mosquitto = started
            endpoint = MQTTEndpoint(host: started.host, port: started.port)
            print("broker: mqtt://\(started.host):\(started.port) (Mosquitto, log \(started.logPath))")
        }
        fflush(nil)
        let session = UpSession(
            cluster: cluster, endpoint: endpoint, root: root, devices: devices, budget: budget,
            logDirectory: logs ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("s2m3-up-\(getpid())"),
            readyTimeout: .milliseconds(Int(readyTimeout * 1000)), mosquitto: mosquitto, signals: signals,
            deviceArguments: deviceGflops.map { ["--compute-gflops", String($0)] } ?? [],
            aggregatorArguments: sequential ? ["--sequential"] : [])
        let failure = await session.run(demo: demo)
        if let mosquitto {
            await mosquitto.stop()
            print("s2m3 up: broker stopped")
        }
        if let failure {
            print("s2m3 up: \(failure)")
            throw ExitCode(1)
        }
    }
}

/// Finds a file in `broker-config/` (or another folder of the repository): in
/// `$S2M3_BROKER_CONFIG_DIR`, else as ``RepositoryFile`` finds it.
enum BrokerConfigLocator {
    static func find(_ name: String, folder: String = "broker-config") throws -> String {
        if folder == "broker-config", let dir = ProcessInfo.processInfo.environment["S2M3_BROKER_CONFIG_DIR"],
           FileManager.default.fileExists(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        guard let path = RepositoryFile.find(folder + "/" + name) else {
            throw ValidationError("cannot find \(folder)/\(name); run from the S2M3 repository, or pass --broker-config or set S2M3_BROKER_CONFIG_DIR")
        }
        return path
    }
}

/// SIGINT and SIGTERM as awaitable events (the default actions are disabled while it lives). A
/// signal no one awaits is kept for the next ``next()``; a cancelled ``next()`` returns
/// `"cancelled"` and consumes nothing, so it can be raced against other events again and again.
final class ShutdownSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var pending: [String] = []
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<String, Never>)] = []
    private var nextID: UInt64 = 0

    init() {
        sources = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")].map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.deliver(name) }
            source.resume()
            return source
        }
    }

    deinit { sources.forEach { $0.cancel() } }

    private func deliver(_ name: String) {
        let waiter: CheckedContinuation<String, Never>? = lock.withLock {
            if waiters.isEmpty {
                pending.append(name)
                return nil
            }
            return waiters.removeFirst().continuation
        }
        waiter?.resume(returning: name)
    }

    /// The name of the next signal received (`"cancelled"` when the waiting task is cancelled).
    func next() async -> String {
        let id: UInt64 = lock.withLock {
            nextID += 1
            return nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
                let ready: String? = lock.withLock {
                    if !pending.isEmpty { return pending.removeFirst() }
                    if Task.isCancelled { return "cancelled" }
                    waiters.append((id, continuation))
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<String, Never>? in
                guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: "cancelled")
        }
    }
}
