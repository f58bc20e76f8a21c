import Aggregator
import ArgumentParser
import Foundation
import LocalCluster
import Logging
import S2M3Core
import ServiceSupport

/// `s2m3 up`: the embedded default, a local cluster on this machine (the LocalCluster library's ``RunningCluster``;
/// this command parses options and prints its typed values): a Mosquitto broker from
/// `broker-config/dev.conf` (or `secure.conf` with `--secure`) on loopback, on its config's port
/// when free (or an existing broker given with `--broker`),
/// then as child processes of this executable the planner, one aggregator and N device agents
/// with memory budgets chosen so that no single device can hold every module. It waits until
/// every device has applied the plan, prints where each module went, and serves until Ctrl-C or
/// SIGTERM (with `--demo`: runs the demo, then stops), restarting a child that crashes (a crash
/// loop stops it with status 1), stopping the children and then the broker.
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

    @Option(help: "Give every device this compute speed (GFLOP/s) instead of measuring this machine's once at start (a reproducible plan).")
    var deviceGflops: Double?

    @Option(help: "Each device's largest batch of waiting invocations of one module (default: the device's, 8; 1: no batching).")
    var deviceMaxBatch: Int?

    @Option(help: ArgumentHelp(
        "Give every service a Prometheus metrics endpoint on 127.0.0.1: the planner this port, the aggregator the next, the devices the ones after (printed by up; default: none).",
        valueName: "port"))
    var metricsPortBase: Int?

    @Flag(help: "Make the planner plan with the catalog's cost figures only, not learn module times from telemetry (with --device-gflops: the same plan on every run).")
    var noLearning = false

    @Flag(help: "Make the aggregator send one invocation of a request at a time (to measure what parallel branches gain).")
    var sequential = false

    @Flag(help: "Start the aggregator as before admission control: every request taken, busy resent every 25 ms until the deadline (the overload benchmark's baseline).")
    var noAdmission = false

    @Option(help: "A JSON file of stream subscriptions the aggregator serves from the start (see s2m3 aggregator --streams-config; docs/streams.md).")
    var streamsConfig: String?

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

    @Flag(help: "Print one JSON object per line instead of the text: the services once started, the ready report, each exit and restart.")
    var json = false

    @Flag(help: "Let a service or the broker that dies stay dead, as without supervision (a dead broker stops the cluster).")
    var noRestart = false

    func run() async throws {
        let streamsConfig = try streamsConfig.map { try Self.checked($0, catalog: modules.catalog) }
        let cluster = try await ClusterCatalog.load(catalog: modules.catalog, models: modules.models)
        let logDirectory = logs ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("s2m3-up-\(getpid())")
        var configuration = LocalClusterConfiguration(cluster: cluster, logDirectory: logDirectory)
        configuration.devices = devices
        configuration.deviceMemory = deviceMemory?.bytes
        configuration.root = bus.root ?? Topics.defaultRoot
        configuration.broker = bus.broker != nil ? .existing(try bus.upAccess()) : .start(secure: secure, template: brokerConfig, port: port)
        configuration.readyTimeout = .milliseconds(Int(readyTimeout * 1000))
        configuration.deviceArguments = ["--compute-gflops", String(try await LocalDeviceSpeed.gflops(given: deviceGflops))]
            + (deviceMaxBatch.map { ["--max-batch", String($0)] } ?? [])
        configuration.aggregatorArguments = (sequential ? ["--sequential"] : [])
            + (noAdmission ? ["--no-admission", "--max-busy-retries", "100000", "--busy-backoff-cap-ms", "25"] : [])
        if let streamsConfig { configuration.aggregatorArguments += ["--streams-config", streamsConfig] }
        configuration.plannerArguments = noLearning ? ["--no-learning"] : []
        configuration.metricsPortBase = metricsPortBase
        configuration.restarts = noRestart ? nil : RestartPolicy()
        let budget = configuration.budget
        let text = UpText(json: json, cluster: cluster, budget: budget, devices: devices, restarts: configuration.restarts)
        if !json {
            print(ClusterReport.catalogLine(cluster))
            let (total, _) = cluster.placement.moduleMemory
            print("devices: \(devices) × \(ClusterReport.mib(budget)) (together \(ClusterReport.mib(budget * devices)); "
                + (budget < total ? "no single device can hold all \(ClusterReport.mib(total))" : "one device can hold every module") + ")")
            fflush(nil)
        }
        let root = configuration.root
        var whileReady: (@Sendable (RunningCluster) async throws -> Void)?
        if demo {
            whileReady = { running in
                let broker = try running.access.configuration(identity: UpCredentials.client)
                guard await DemoRunner(broker: broker, root: root).run() else { throw LocalClusterError(.task, "the demo did not answer every task") }
            }
        }
        // The cluster runs as this process's one service: SIGTERM / SIGINT stop it gracefully.
        let service = LocalClusterService(
            configuration, events: { (event: ClusterEvent) in text.event(event) }, onReady: { (running: RunningCluster) in text.ready(running) },
            whileReady: whileReady)
        var logger = Logger(label: "s2m3.up")
        logger.logLevel = .critical
        do {
            try await ProcessServices.run([service], logger: logger, maximumShutdown: .seconds(60))
        } catch {
            print("s2m3 up: \(error)")
            throw ExitCode(1)
        }
    }
}

extension UpCommand {
    /// The absolute path of a stream subscription file whose subscriptions the cluster's catalog
    /// can serve: a bad file stops `up` before anything starts.
    static func checked(_ path: String, catalog: String) throws -> String {
        do {
            var configuration = AggregatorConfiguration(id: "up-check")
            configuration.streamSubscriptions = try StreamSubscriptionFile.load(path: path)
            _ = try AggregatorStateMachine(configuration: configuration, catalog: try AggregatorCatalog.load(path: catalog))
        } catch let error as StreamSubscriptionFile.Problem {
            throw ValidationError("--streams-config \(error)")
        } catch {
            throw ValidationError("--streams-config \(path): \(error)")
        }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

extension BrokerOptions {
    /// An existing broker for `up --broker`: the checked configuration and the same TLS and login
    /// options (paths made absolute) for every service.
    func upAccess() throws -> UpBrokerAccess {
        let configuration = try configuration()
        func absolute(_ path: String?) -> String? {
            path.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
        }
        var arguments: [String] = []
        for (flag, value) in [
            ("--tls-ca", absolute(tlsCA)), ("--tls-cert", absolute(tlsCert)), ("--tls-key", absolute(tlsKey)),
            ("--tls-server-name", tlsServerName), ("--username", username), ("--password-file", absolute(passwordFile)),
        ] {
            if let value { arguments += [flag, value] }
        }
        return UpBrokerAccess.external(configuration, arguments: arguments, tlsCA: absolute(tlsCA), passwordFile: absolute(passwordFile))
    }
}
