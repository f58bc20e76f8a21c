import ArgumentParser
import Catalog
import Foundation
import Inference
import LocalBroker
import LocalCluster
import Logging
import MQTTBus
import Runtime
import S2M3Bus
import S2M3Client
import S2M3Core

/// What `s2m3 bench cluster` runs against: an "edge" broker for the local clusters, a "cloud"
/// broker with `s2m3 serve` next to it, the WAN relay in front of the cloud broker, the monolithic
/// runner in this process, and a client for each way in.
final class BenchClusterRig: Sendable {
    let cluster: ClusterCatalog
    let logDirectory: String
    let edge: MosquittoProcess
    let cloudBroker: MosquittoProcess
    let relay: ChildProcess
    let relayPort: Int
    let serve: ChildProcess
    /// `s2m3 serve` reached directly on its loopback broker, and through the WAN relay.
    let serveClient: S2M3Client
    let cloudClient: S2M3Client
    let local: BenchLocalRunner
    let deviceThreads: Int
    /// The speed every device announces: this machine's, measured once before anything starts.
    let deviceGflops: Double

    static let logger: Logger = {
        var logger = Logger(label: "s2m3.bench-cluster")
        logger.logLevel = .warning
        return logger
    }()

    private init(
        cluster: ClusterCatalog, logDirectory: String, edge: MosquittoProcess, cloudBroker: MosquittoProcess, relay: ChildProcess,
        relayPort: Int, serve: ChildProcess, serveClient: S2M3Client, cloudClient: S2M3Client, local: BenchLocalRunner, deviceThreads: Int,
        deviceGflops: Double
    ) {
        self.deviceThreads = deviceThreads
        self.deviceGflops = deviceGflops
        self.cluster = cluster
        self.logDirectory = logDirectory
        self.edge = edge
        self.cloudBroker = cloudBroker
        self.relay = relay
        self.relayPort = relayPort
        self.serve = serve
        self.serveClient = serveClient
        self.cloudClient = cloudClient
        self.local = local
    }

    static func start(cluster: ClusterCatalog, logDirectory: String, deviceThreads: Int, wanDelayMs: Double, wanRateMbit: Double) async throws -> BenchClusterRig {
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        print("bench cluster: logs in \(logDirectory)")
        let deviceGflops = try await LocalDeviceSpeed.gflops(given: nil)
        let template = try BrokerConfigLocator.find("dev.conf")
        func broker() async throws -> MosquittoProcess {
            try await MosquittoProcess.start(MosquittoProcessConfiguration(template: template))
        }
        let edge = try await broker(), cloudBroker = try await broker()
        let script = try BrokerConfigLocator.find("wan-relay.py", folder: "scripts/bench")
        let relay = try ChildProcess.spawn(
            "/usr/bin/env", ["python3", script, "--listen", "127.0.0.1:0", "--target", "127.0.0.1:\(cloudBroker.port)",
                             "--delay-ms", String(wanDelayMs), "--rate-mbit", String(wanRateMbit)],
            stdout: .pipe, stderr: .appendToFile(logDirectory + "/wan-relay.log"), newProcessGroup: true)
        let relayLine = try await firstLine(of: relay, prefix: "ready ", timeout: .seconds(20), what: "wan-relay.py")
        guard let relayPort = Int(relayLine.dropFirst("ready ".count)) else { throw ValidationError("wan-relay.py said '\(relayLine)'") }
        let serve = try ChildProcess.spawn(
            ClusterProcesses.currentExecutable,
            ["serve", "--broker", "127.0.0.1:\(cloudBroker.port)", "--catalog", cluster.catalogPath, "--models", cluster.modelsDirectory,
             "--log-level", "warning"],
            stdout: .pipe, stderr: .appendToFile(logDirectory + "/serve.log"), newProcessGroup: true)
        _ = try await firstLine(of: serve, prefix: "ready", timeout: .seconds(300), what: "s2m3 serve (log \(logDirectory)/serve.log)")
        let serveClient = try await client(port: cloudBroker.port, name: "bench-serve")
        let cloudClient = try await client(port: relayPort, name: "bench-cloud")
        let local = try await BenchLocalRunner(catalog: cluster.catalog, modelsDirectory: cluster.modelsDirectory)
        print("bench cluster: edge broker :\(edge.port), cloud broker :\(cloudBroker.port) behind wan-relay :\(relayPort) "
            + "(\(wanDelayMs) ms each way, \(wanRateMbit) Mbit/s), s2m3 serve pid \(serve.processIdentifier)")
        fflush(nil)
        return BenchClusterRig(
            cluster: cluster, logDirectory: logDirectory, edge: edge, cloudBroker: cloudBroker, relay: relay, relayPort: relayPort,
            serve: serve, serveClient: serveClient, cloudClient: cloudClient, local: local, deviceThreads: deviceThreads,
            deviceGflops: deviceGflops)
    }

    static func client(port: Int, name: String, root: String = Topics.defaultRoot) async throws -> S2M3Client {
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [MQTTEndpoint(host: "127.0.0.1", port: port)], clientID: "\(name)-\(getpid())"),
            logger: logger)
        let client = S2M3Client(connection: connection, topics: Topics(root: root), logger: logger)
        try await client.connect()
        return client
    }

    /// Waits for a child's first stdout line starting with `prefix`.
    static func firstLine(of child: ChildProcess, prefix: String, timeout: Duration, what: String) async throws -> String {
        let lines = child.outputLines()
        let reader = Task { () -> String? in
            for await line in lines where line.hasPrefix(prefix) { return line }
            return nil
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            reader.cancel()
        }
        defer { timer.cancel() }
        guard let line = await reader.value else { throw ValidationError("\(what) did not say '\(prefix)' within \(timeout)") }
        return line
    }

    /// A local cluster on the edge broker under its own topic root: planner, N devices, aggregator.
    func startCluster(name: String, devices: Int, budget: Int, sequential: Bool) async throws -> BenchClusterPhase {
        let root = "s2m3-bench-\(name)"
        let processes = try ClusterProcesses(executable: ClusterProcesses.currentExecutable, logDirectory: logDirectory + "/" + name)
        let common = ["--broker", "127.0.0.1:\(edge.port)", "--root", root]
        let catalog = ["--catalog", cluster.catalogPath, "--models", cluster.modelsDirectory]
        try processes.start("planner", ["planner"] + common + catalog)
        let ids = (1...devices).map { "box-\($0)" }
        for id in ids {
            try processes.start(
                id, ["device", "--id", id, "--memory", String(budget), "--threads", String(deviceThreads), "--compute-gflops", String(deviceGflops)]
                    + common + catalog)
        }
        let watcher = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [MQTTEndpoint(host: "127.0.0.1", port: edge.port)], clientID: "bench-watch-\(name)"),
            logger: Self.logger)
        try await watcher.connect()
        let topics = Topics(root: root)
        try await watcher.subscribe(topics.plan)
        try await watcher.subscribe(topics.allDeviceTelemetry, on: topics)
        let snapshot = await ClusterReadiness(topics: topics, devices: ids).wait(messages: watcher.messages, timeout: .seconds(300)) { _ in }
        await watcher.disconnect()
        guard snapshot.isReady(devices: ids), let plan = snapshot.plan else {
            await processes.stopAll()
            throw ValidationError("the \(name) cluster (\(devices) devices × \(ClusterReport.mib(budget))) was not ready; logs in \(processes.logDirectory)")
        }
        let phase = BenchClusterPhase(rig: self, name: name, root: root, devices: devices, budget: budget, plan: plan, processes: processes,
                                      client: try await Self.client(port: edge.port, name: "bench-\(name)", root: root))
        try await phase.startAggregator(sequential: sequential)
        print("bench cluster: \(name): \(devices) devices × \(ClusterReport.mib(budget)) ready, plan epoch \(plan.epoch), "
            + "\(plan.placement.values.reduce(0) { $0 + $1.count }) module replicas")
        fflush(nil)
        return phase
    }

    func stop() async {
        await serveClient.close()
        await cloudClient.close()
        serve.send(SIGTERM)
        relay.send(SIGTERM)
        let killer = Task {
            try await Task.sleep(for: .seconds(5))
            serve.send(SIGKILL)
            relay.send(SIGKILL)
        }
        await serve.waitUntilExit()
        await relay.waitUntilExit()
        killer.cancel()
        await edge.stop()
        await cloudBroker.stop()
    }

    /// `/proc/loadavg`'s three load averages.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// CPU model and core count.
    static func machine() -> String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = info.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
}
