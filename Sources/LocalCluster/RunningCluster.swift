import Foundation
import LocalBroker
import Logging
import MQTTBus
import S2M3Bus
import S2M3Core
import Synchronization

/// A running local cluster on this machine (what `s2m3 up` runs): a Mosquitto broker (or an existing
/// one), the planner, one aggregator and N device agents, each a child process of `s2m3`.
///
/// ``start(_:events:)`` returns once every device applied the plan; from the moment the children
/// run they are supervised (``ClusterSupervisor``): one that crashes is restarted as the
/// configuration's ``RestartPolicy`` says, and a crash loop ends the cluster (``failure()``).
/// ``stop()`` stops the services (devices first), then the broker, and removes `cluster.env`.
/// ``LocalClusterService`` runs it as a ServiceLifecycle service.
public final class RunningCluster: Sendable {
    public let configuration: LocalClusterConfiguration
    public let access: UpBrokerAccess
    public let processes: ClusterProcesses
    /// What was seen when the cluster became ready.
    public let readiness: ClusterReadiness.Snapshot
    /// The plan every device applied.
    public let plan: PlanMessage
    let mosquitto: MosquittoProcess?
    let supervisor: ClusterSupervisor
    let events: @Sendable (ClusterEvent) -> Void
    private let clusterFile: ClusterEnvironmentFile?
    private let planFollower = Mutex<Task<Void, Never>?>(nil)
    private let stopped = Mutex(false)

    public var root: String { configuration.root }
    public var endpoint: MQTTEndpoint { access.endpoint }

    /// The broker as it runs now (its pid changes when it is restarted).
    public var broker: ClusterBroker { Self.describe(access, mosquitto, portTaken: false) }

    /// Every service as it runs now (a restart changes its pid).
    public var services: [ClusterService] {
        let ports = configuration.metricsPorts
        return processes.all.map { ClusterService(name: $0.name, pid: $0.process.processIdentifier, metricsPort: ports[$0.name], log: $0.logPath) }
    }

    /// The ready report: broker, services, plan, timings, sharing.
    public var report: ClusterReadyReport {
        func seconds(_ duration: Duration?) -> Double? {
            duration.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        }
        return ClusterReadyReport(
            broker: broker, root: root, services: services, devices: configuration.deviceIDs, budget: configuration.budget,
            plan: plan, planAfterSeconds: seconds(readiness.planAfter), readyAfterSeconds: seconds(readiness.readyAfter),
            sharing: configuration.cluster.sharing, logs: configuration.logDirectory, clusterFile: configuration.clusterFile)
    }

    private init(
        configuration: LocalClusterConfiguration, access: UpBrokerAccess, processes: ClusterProcesses, readiness: ClusterReadiness.Snapshot,
        plan: PlanMessage,
        mosquitto: MosquittoProcess?, supervisor: ClusterSupervisor, clusterFile: ClusterEnvironmentFile?,
        events: @escaping @Sendable (ClusterEvent) -> Void
    ) {
        self.configuration = configuration
        self.access = access
        self.processes = processes
        self.readiness = readiness
        self.plan = plan
        self.mosquitto = mosquitto
        self.supervisor = supervisor
        self.clusterFile = clusterFile
        self.events = events
    }

    /// Tells each later plan that moves modules (``ClusterEvent/replanned(_:)``) until ``stop()``.
    private func followPlans() {
        guard let plans = try? access.configuration(identity: UpCredentials.monitors[1]) else { return }
        let (root, plan, events) = (configuration.root, plan, events)
        let task = Task { await PlanFollower(broker: plans, root: root, events: events).follow(after: plan) }
        planFollower.withLock { $0 = task }
    }

    /// Starts the broker and the services and waits until every device applied the plan. On
    /// failure (or cancellation) everything started is stopped again and the error says why.
    public static func start(
        _ configuration: LocalClusterConfiguration, events: @escaping @Sendable (ClusterEvent) -> Void = { _ in }
    ) async throws -> RunningCluster {
        try configuration.validate()
        try FileManager.default.createDirectory(atPath: configuration.logDirectory, withIntermediateDirectories: true)
        let (access, mosquitto) = try await startBroker(configuration, events: events)
        var clusterFile: ClusterEnvironmentFile?
        if let path = configuration.clusterFile {
            let file = access.clusterFile(root: configuration.root)
            do {
                try file.write(path: path)
                clusterFile = file
                events(.clusterFile(path: path, error: nil))
            } catch {
                events(.clusterFile(path: path, error: "\(error)"))
            }
        }
        func undo() async {
            if let mosquitto {
                await mosquitto.stop()
                events(.brokerStopped)
            }
            if let path = configuration.clusterFile { clusterFile?.remove(path: path) }
            access.credentials?.remove()
        }
        let processes: ClusterProcesses
        do {
            processes = try ClusterProcesses(executable: configuration.executable, logDirectory: configuration.logDirectory)
            try startServices(configuration, access: access, processes: processes)
        } catch {
            await undo()
            throw LocalClusterError(.start, "cannot start the services: \(error)")
        }
        let supervisor = ClusterSupervisor(
            processes: processes, mosquitto: mosquitto, policy: configuration.restarts, access: access,
            metricsPorts: configuration.metricsPorts, events: events)
        supervisor.begin()
        events(.servicesStarted(processes.all.map {
            ClusterService(name: $0.name, pid: $0.process.processIdentifier, metricsPort: configuration.metricsPorts[$0.name], log: $0.logPath)
        }))
        let outcome = await waitUntilReady(configuration, access: access, supervisor: supervisor, events: events)
        switch outcome {
        case .success(let (snapshot, plan)):
            supervisor.markReady()
            let running = RunningCluster(
                configuration: configuration, access: access, processes: processes, readiness: snapshot, plan: plan, mosquitto: mosquitto,
                supervisor: supervisor, clusterFile: clusterFile, events: events)
            running.followPlans()
            return running
        case .failure(let error):
            supervisor.cancel()
            events(.stopping(count: processes.all.count))
            events(.servicesStopped(killed: await processes.stopAll()))
            await undo()
            throw error
        }
    }

    /// Waits until the cluster fails (a crash loop, a broker that exits with restarts off) and
    /// returns why; nil when stopped first or the waiting task is cancelled.
    public func failure() async -> LocalClusterError? {
        await supervisor.failure()
    }

    /// Stops the services (SIGTERM, devices first, SIGKILL after 5 s), then the broker; removes
    /// `cluster.env` and the credentials. Nothing is restarted once this begins. Idempotent.
    public func stop() async {
        guard stopped.withLock({ was in defer { was = true }; return !was }) else { return }
        supervisor.cancel()
        planFollower.withLock { $0 }?.cancel()
        events(.stopping(count: processes.all.count))
        let killed = await processes.stopAll()
        events(.servicesStopped(killed: killed))
        if let mosquitto {
            await mosquitto.stop()
            events(.brokerStopped)
        }
        if let path = configuration.clusterFile { clusterFile?.remove(path: path) }
        access.credentials?.remove()
    }

    // MARK: start-up

    private static func startBroker(
        _ configuration: LocalClusterConfiguration, events: @Sendable (ClusterEvent) -> Void
    ) async throws -> (UpBrokerAccess, MosquittoProcess?) {
        switch configuration.broker {
        case .existing(let access):
            events(.broker(describe(access, nil, portTaken: false)))
            return (access, nil)
        case .start(let secure, let template, let port):
            let credentials = secure
                ? try await UpCredentials.make(logDirectory: configuration.logDirectory, devices: configuration.deviceIDs) : nil
            let started: MosquittoProcess
            do {
                let path = try template ?? BrokerConfigLocator.find(secure ? "secure.conf" : "dev.conf")
                var broker = MosquittoProcessConfiguration(template: path, secretsDirectory: credentials?.directory)
                if let port, port != 0 { broker.ports = [port] }
                broker.preferTemplatePorts = port == nil
                started = try await MosquittoProcess.start(broker)
            } catch {
                credentials?.remove()
                throw error
            }
            let access = UpBrokerAccess.local(MQTTEndpoint(host: started.host, port: started.port), credentials: credentials)
            events(.broker(describe(access, started, portTaken: port == nil && started.port != 1883 && started.port != 8883)))
            return (access, started)
        }
    }

    static func describe(_ access: UpBrokerAccess, _ mosquitto: MosquittoProcess?, portTaken: Bool) -> ClusterBroker {
        ClusterBroker(
            scheme: access.scheme, endpoint: access.endpoint.description, pid: mosquitto?.processIdentifier, log: mosquitto?.logPath,
            configPortTaken: portTaken, credentials: access.credentials?.directory)
    }

    private static func startServices(_ configuration: LocalClusterConfiguration, access: UpBrokerAccess, processes: ClusterProcesses) throws {
        func common(_ identity: String) -> [String] { access.serviceArguments(identity: identity) + ["--root", configuration.root] }
        let cluster = configuration.cluster
        let catalog = ["--catalog", cluster.catalogPath, "--models", cluster.modelsDirectory]
        let ports = configuration.metricsPorts
        func metrics(_ name: String) -> [String] {
            ports[name].map { ["--metrics-port", String($0), "--metrics-host", "127.0.0.1"] } ?? []
        }
        // With fresh credentials (--secure) the broker runs the dynamic-security plugin and the
        // planner identity administers it: devices receive only their modules' invocations.
        let dynamicSecurity = access.credentials != nil ? ["--dynamic-security"] : []
        try processes.start(
            UpCredentials.planner, ["planner"] + common(UpCredentials.planner) + catalog + metrics(UpCredentials.planner) + dynamicSecurity
                + configuration.plannerArguments)
        try processes.start(
            UpCredentials.aggregator,
            ["aggregator", "--id", UpCredentials.aggregator] + common(UpCredentials.aggregator) + catalog + configuration.aggregatorArguments
                + metrics(UpCredentials.aggregator))
        for id in configuration.deviceIDs {
            try processes.start(
                id, ["device", "--id", id, "--memory", String(configuration.budget)] + common(id) + catalog + configuration.deviceArguments
                    + metrics(id))
        }
    }

    /// Follows the plan and the devices' telemetry until ready, the supervisor gives up, or the timeout.
    private static func waitUntilReady(
        _ configuration: LocalClusterConfiguration, access: UpBrokerAccess, supervisor: ClusterSupervisor,
        events: @escaping @Sendable (ClusterEvent) -> Void
    ) async -> Result<(ClusterReadiness.Snapshot, PlanMessage), LocalClusterError> {
        var logger = Logger(label: "s2m3.local-cluster")
        logger.logLevel = .warning
        let broker: MQTTBrokerConfiguration
        do {
            // The cluster follows the plan and the devices' telemetry as a monitor, which may read both.
            broker = try access.configuration(identity: UpCredentials.monitors[0])
        } catch {
            return .failure(LocalClusterError(.start, "cannot read the credentials: \(error)"))
        }
        let watcher = MQTTConnection(configuration: broker.configuration(clientID: "s2m3-up-\(getpid())"), logger: logger)
        let topics = Topics(root: configuration.root)
        do {
            try await watcher.connect()
            try await watcher.subscribe(topics.plan)
            try await watcher.subscribe(topics.allDeviceTelemetry, on: topics)
        } catch {
            return .failure(LocalClusterError(.start, "cannot follow the cluster on the broker: \(error)"))
        }
        let devices = configuration.deviceIDs
        let readiness = ClusterReadiness(topics: topics, devices: devices)
        let messages = watcher.messages
        let timeout = configuration.readyTimeout
        let outcome = await withTaskGroup(of: Result<ClusterReadiness.Snapshot, LocalClusterError>?.self) { group in
            group.addTask {
                .success(await readiness.wait(messages: messages, timeout: timeout) { events(.progress($0)) })
            }
            group.addTask { await supervisor.failure().map { .failure($0) } }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .failure(LocalClusterError(.start, "cancelled while starting"))
        }
        await watcher.disconnect()
        if Task.isCancelled { return .failure(LocalClusterError(.start, "cancelled while starting")) }
        let snapshot: ClusterReadiness.Snapshot
        switch outcome {
        case .success(let seen): snapshot = seen
        case .failure(let error): return .failure(error)
        }
        guard snapshot.isReady(devices: devices), let plan = snapshot.plan else {
            return .failure(LocalClusterError(.notReady, notReady(snapshot, configuration)))
        }
        return .success((snapshot, plan))
    }

    private static func notReady(_ snapshot: ClusterReadiness.Snapshot, _ configuration: LocalClusterConfiguration) -> String {
        var problems: [String] = []
        let devices = configuration.deviceIDs
        if let plan = snapshot.plan {
            let missing = Set(devices).subtracting(plan.devices).sorted()
            if !missing.isEmpty { problems.append("the latest plan (epoch \(plan.epoch)) lacks \(missing.joined(separator: ", "))") }
            for id in devices where snapshot.assignments[id]?.epoch != plan.epoch || snapshot.assignments[id]?.status != .applied {
                let seen = snapshot.assignments[id].map { "epoch \($0.epoch) \($0.status.rawValue)" + ($0.reason.map { ": \($0)" } ?? "") }
                problems.append("\(id): " + (seen ?? (snapshot.telemetry[id] == nil ? "no telemetry" : "no assignment report")))
            }
        } else {
            problems.append("no plan was published")
        }
        return "the cluster was not ready after \(configuration.readyTimeout): " + problems.joined(separator: "; ")
            + " (logs in \(configuration.logDirectory))"
    }
}
