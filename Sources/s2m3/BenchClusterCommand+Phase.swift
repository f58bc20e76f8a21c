import ArgumentParser
import Catalog
import Foundation
import Inference
import LocalCluster
import MQTTBus
import Runtime
import S2M3Client
import S2M3Core

/// One local cluster of the benchmark (planner, devices, one aggregator at a time) on its own
/// topic root of the edge broker, with a client connected to it.
final class BenchClusterPhase: @unchecked Sendable {
    let rig: BenchClusterRig
    let name: String
    let root: String
    let devices: Int
    let budget: Int
    let plan: PlanMessage
    let processes: ClusterProcesses
    let client: S2M3Client
    /// Only touched by the one task that drives the benchmark.
    private var aggregator: ClusterProcesses.Member?
    private var aggregators = 0

    init(rig: BenchClusterRig, name: String, root: String, devices: Int, budget: Int, plan: PlanMessage, processes: ClusterProcesses, client: S2M3Client) {
        self.rig = rig
        self.name = name
        self.root = root
        self.devices = devices
        self.budget = budget
        self.plan = plan
        self.processes = processes
        self.client = client
    }

    /// Module replicas the plan placed.
    var replicas: Int { plan.placement.values.reduce(0) { $0 + $1.count } }

    /// Stops the current aggregator (if any) and starts one, `--sequential` or `--no-chains` or not; returns once it
    /// printed `ready` (it has subscribed to the requests and the retained plan).
    func startAggregator(sequential: Bool, chains: Bool = true) async throws {
        if let old = aggregator {
            old.process.send(SIGTERM)
            await old.process.waitUntilExit()
        }
        aggregators += 1
        let id = "agg-\(aggregators)"
        let member = try processes.start(id, [
            "aggregator", "--id", id, "--broker", "127.0.0.1:\(rig.edge.port)", "--root", root,
            "--catalog", rig.cluster.catalogPath, "--log-level", "warning",
        ] + (sequential ? ["--sequential"] : []) + (chains ? [] : ["--no-chains"]))
        aggregator = member
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let log = FileManager.default.contents(atPath: member.logPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if log.split(separator: "\n").contains("ready") { return }
            if member.process.hasExited { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("aggregator \(id) of \(name) did not start: \(ClusterProcesses.logTail(member.logPath))")
    }

    /// The plan retained on the broker now (the planner may have re-planned since ``plan``, e.g.
    /// with costs learned from telemetry), or nil when none arrives within 5 s.
    func retainedPlan() async -> PlanMessage? {
        let watcher = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [MQTTEndpoint(host: "127.0.0.1", port: rig.edge.port)], clientID: "bench-plan-\(name)"),
            logger: BenchClusterRig.logger)
        let messages = watcher.messages
        let plan: PlanMessage?
        do {
            try await watcher.connect()
            try await watcher.subscribe(Topics(root: root).plan)
            // The first plan, or nil after 5 s: whichever child ends first, the other is cancelled.
            plan = await withTaskGroup(of: PlanMessage?.self) { group in
                group.addTask {
                    for await message in messages where !message.payload.isEmpty {
                        if let plan = try? PlanMessage(json: message.payload) { return plan }
                    }
                    return nil
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(5))
                    return nil
                }
                defer { group.cancelAll() }
                return await group.next() ?? nil
            }
        } catch {
            plan = nil
        }
        await watcher.disconnect()
        return plan
    }

    func stop() async {
        await client.close()
        await processes.stopAll()
    }
}

/// The monolithic runner in the benchmark's own process, every module loaded beforehand.
struct BenchLocalRunner: Sendable {
    let runner: TaskRunner
    let bindings: [String: TaskBinding]

    init(catalog: ModuleCatalog, modelsDirectory: String, threads: Int = 2) async throws {
        var bindings: [String: TaskBinding] = [:]
        for task in catalog.tasks { bindings[task.id] = try TaskBinding(task: task, catalog: catalog) }
        let modules = LocalModules(loader: ModuleLoader(
            catalog: catalog, modelsDirectory: modelsDirectory,
            threadPool: InferenceThreadPool(threadCount: threads, name: "s2m3-bench-local")))
        try await modules.preload(Set(bindings.values.flatMap { $0.nodes.map(\.module) }).sorted())
        self.bindings = bindings
        runner = TaskRunner(modules: modules)
    }

    func run(_ task: String, _ request: TaskRequest) async throws -> TaskResult {
        guard let binding = bindings[task] else { throw ValidationError("no task '\(task)'") }
        return try await runner.run(binding, request: try request.bundle())
    }
}

/// Where a benchmark request goes: over MQTT through a client, or to the in-process runner.
enum BenchTarget: Sendable {
    case client(S2M3Client)
    case local(BenchLocalRunner)

    func run(_ task: String, _ request: TaskRequest) async throws -> TaskResult {
        switch self {
        case .client(let client): try await client.request(task: task, inputs: request.inputs, timeout: .seconds(60))
        case .local(let runner): try await runner.run(task, request)
        }
    }
}
