import ArgumentParser
import Dispatch
import Foundation
import LocalBroker
import Logging
import MQTTBus
import S2M3Core
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// `s2m3 up`: the embedded default, a local cluster on this machine: a Mosquitto broker from
/// `broker-config/dev.conf` (or `secure.conf` with `--secure`) on loopback, on its config's port
/// when free (or an existing broker given with `--broker`),
/// then as child processes of this executable the planner, one aggregator and N device agents
/// with memory budgets chosen so that no single device can hold every module. It waits until
/// every device has applied the plan, prints where each module went, and serves until Ctrl-C or
/// SIGTERM (with `--demo`: runs the demo, then stops), stopping the children and then the broker.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local cluster: a Mosquitto broker, the planner, an aggregator and N devices, until Ctrl-C.",
        discussion: """
            The broker listens on its config's port (1883, or 8883 with --secure) when that is free, else on a free \
            port. While up runs, ${S2M3_CACHE:-.cache}/cluster.env holds the broker's address (and with --secure the \
            CA and a client login), so `s2m3 request`, `s2m3 demo` and the other commands reach it without --broker.
            """
    )

    @Option(help: "Number of device agents.")
    var devices = 3

    @Option(help: "Memory budget of each device (bytes, or e.g. 300MiB, 1GB; default: from the measured modules).")
    var deviceMemory: MemoryBudgetArgument?

    /// `--broker` (an existing broker instead of starting one), `--root`, and the TLS and login
    /// options every service then uses for it.
    @OptionGroup var bus: BrokerOptions

    @Flag(help: "Start the broker from broker-config/secure.conf (TLS, passwords, ACL) with fresh credentials from broker-config/make-credentials.sh; each service logs in as its own identity (planner, agg-1, box-N), with an ACL for exactly those.")
    var secure = false

    @Option(help: "Broker config template to start (default: broker-config/dev.conf, or secure.conf with --secure).")
    var brokerConfig: String?

    @Option(help: "Port for the started broker (default: the config's, 1883 or 8883, when free; 0: any free port).")
    var port: Int?

    @OptionGroup var modules: CatalogOptions

    @Option(help: "Folder for the services' logs (default: a new folder under the temporary directory).")
    var logs: String?

    @Option(help: "Seconds to wait for every device to apply the plan.")
    var readyTimeout: Double = 300

    @Flag(help: "Run the demo once the cluster is ready, then stop.")
    var demo = false

    @Option(help: "Give every device this compute speed (GFLOP/s) instead of measuring it (a reproducible plan).")
    var deviceGflops: Double?

    @Option(help: ArgumentHelp(
        "Give every service a Prometheus metrics endpoint on 127.0.0.1: the planner this port, the aggregator the next, the devices the ones after (printed by up; default: none).",
        valueName: "port"))
    var metricsPortBase: Int?

    @Flag(help: "Make the aggregator send one invocation of a request at a time (to measure what parallel branches gain).")
    var sequential = false

    @Flag(help: "Start the aggregator as before admission control: every request taken, busy resent every 25 ms until the deadline (the overload benchmark's baseline).")
    var noAdmission = false

    func validate() throws {
        guard (1...64).contains(devices) else { throw ValidationError("--devices must be between 1 and 64") }
        guard readyTimeout > 0, readyTimeout <= 86_400 else { throw ValidationError("--ready-timeout must be in (0, 86400] seconds") }
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0…65535") }
        if let metricsPortBase, !(1...(65535 - devices - 1)).contains(metricsPortBase) {
            throw ValidationError("--metrics-port-base must be 1…\(65535 - devices - 1): the \(devices + 2) services get consecutive ports from it")
        }
        if bus.broker != nil {
            guard !secure else {
                throw ValidationError("--secure starts its own broker; for an existing secure broker give --tls-ca, --username and --password-file with --broker")
            }
            guard port == nil, brokerConfig == nil else { throw ValidationError("--port and --broker-config are for the broker up starts, not with --broker") }
        } else if bus.tlsCA != nil || bus.tlsCert != nil || bus.tlsKey != nil || bus.tlsServerName != nil || bus.username != nil || bus.passwordFile != nil {
            throw ValidationError("the TLS and login options are for an existing broker (--broker); use --secure to start a secure one")
        }
    }

    func run() async throws {
        let cluster = try await ClusterCatalog.load(catalog: modules.catalog, models: modules.models)
        print(ClusterReport.catalogLine(cluster))
        let (total, largest) = cluster.placement.moduleMemory
        let budget = deviceMemory?.bytes ?? ClusterReport.deviceBudget(total: total, largest: largest, devices: devices)
        print("devices: \(devices) × \(ClusterReport.mib(budget)) (together \(ClusterReport.mib(budget * devices)); "
            + (budget < total ? "no single device can hold all \(ClusterReport.mib(total))" : "one device can hold every module") + ")")
        let root = bus.root ?? Topics.defaultRoot
        let logDirectory = logs ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("s2m3-up-\(getpid())")
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)

        let access: UpBrokerAccess
        let mosquitto: MosquittoProcess?
        if bus.broker != nil {
            access = try UpBrokerAccess.external(bus)
            mosquitto = nil
            print("broker: \(access.scheme)://\(access.endpoint) (external)")
        } else {
            let credentials = secure ? try await UpCredentials.make(logDirectory: logDirectory, devices: UpSession.deviceIDs(devices)) : nil
            let template = try brokerConfig ?? BrokerConfigLocator.find(secure ? "secure.conf" : "dev.conf")
            var configuration = MosquittoProcessConfiguration(template: template, secretsDirectory: credentials?.directory)
            if let port, port != 0 { configuration.ports = [port] }
            configuration.preferTemplatePorts = port == nil
            let started: MosquittoProcess
            do {
                started = try await MosquittoProcess.start(configuration)
            } catch {
                credentials?.remove()
                throw error
            }
            mosquitto = started
            access = UpBrokerAccess.local(MQTTEndpoint(host: started.host, port: started.port), credentials: credentials)
            let note = port == nil && started.port != 1883 && started.port != 8883 ? ", its config's port was taken" : ""
            print("broker: \(access.scheme)://\(started.host):\(started.port) (Mosquitto\(note), log \(started.logPath))")
            if let credentials { print("credentials: \(credentials.directory) (made by make-credentials.sh; removed when up stops)") }
        }
        let clusterFile = access.clusterFile(root: root)
        do {
            try clusterFile.write()
            print("cluster file: \(ClusterEnvironmentFile.path) (the other s2m3 commands read it when given no --broker)")
        } catch {
            print("s2m3 up: cannot write \(ClusterEnvironmentFile.path) (\(error)); give the other commands --broker")
        }
        fflush(nil)
        let session = UpSession(
            cluster: cluster, access: access, root: root, devices: devices, budget: budget,
            logDirectory: logDirectory,
            readyTimeout: .milliseconds(Int(readyTimeout * 1000)), mosquitto: mosquitto,
            deviceArguments: deviceGflops.map { ["--compute-gflops", String($0)] } ?? [],
            aggregatorArguments: (sequential ? ["--sequential"] : []) + (noAdmission ? ["--no-admission", "--max-busy-retries", "100000", "--busy-backoff-cap-ms", "25"] : []), metricsPortBase: metricsPortBase)
        // The session runs as this process's one service: SIGTERM / SIGINT stop it gracefully.
        let service = UpService(session: session, demo: demo)
        var logger = Logger(label: "s2m3.up")
        logger.logLevel = .warning
        try await ProcessServices.run([service], logger: logger, maximumShutdown: .seconds(60))
        let failure = await service.failure
        if let mosquitto {
            await mosquitto.stop()
            print("s2m3 up: broker stopped")
        }
        clusterFile.remove()
        access.credentials?.remove()
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

/// ``UpSession`` as a ServiceLifecycle `Service` (its graceful shutdown stops the cluster), keeping
/// the reason it ended badly, if any.
final class UpService: Service, Sendable {
    let session: UpSession
    let demo: Bool
    private let outcome = Mutex<String?>(nil)

    init(session: UpSession, demo: Bool) {
        self.session = session
        self.demo = demo
    }

    /// Why the session did not end as asked (nil: a signal, or a demo that answered everything).
    var failure: String? { outcome.withLock { $0 } }

    func run() async throws {
        let failure = await session.run(demo: demo)
        outcome.withLock { $0 = failure }
    }
}
