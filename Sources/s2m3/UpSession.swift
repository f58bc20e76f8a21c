import Foundation
import LocalBroker
import Logging
import MQTTBus
import S2M3Core
import ServiceLifecycle

/// One run of `s2m3 up` once the broker is there: starts the services, waits until the cluster is
/// ready, prints the report, serves (or runs the demo), and stops the services.
struct UpSession {
    let cluster: ClusterCatalog
    let access: UpBrokerAccess
    let root: String
    let devices: Int
    let budget: Int
    let logDirectory: String
    let readyTimeout: Duration
    let mosquitto: MosquittoProcess?
    /// Extra arguments for every `s2m3 device` and for the aggregator.
    var deviceArguments: [String] = []
    var aggregatorArguments: [String] = []
    /// The planner's metrics port; the aggregator gets the next, the devices the ones after (nil: none).
    var metricsPortBase: Int?

    private enum Event: Sendable {
        case ready(ClusterReadiness.Snapshot)
        case signal(String)
        case childExited(String, Int32?, String)
        case brokerExited(Int32?)
        case demoFinished(Bool)
    }

    var deviceIDs: [String] { Self.deviceIDs(devices) }
    static func deviceIDs(_ count: Int) -> [String] { (1...max(count, 1)).map { "box-\($0)" } }

    /// Service name → metrics port: the planner `metricsPortBase`, `agg-1` the next, then the devices.
    var metricsPorts: [String: Int] {
        guard let base = metricsPortBase else { return [:] }
        return Dictionary(uniqueKeysWithValues: (["planner", "agg-1"] + deviceIDs).enumerated().map { ($1, base + $0) })
    }

    /// Returns nil when it ended as asked (a signal, or a demo that answered everything), else why not.
    func run(demo: Bool) async -> String? {
        let processes: ClusterProcesses
        do {
            processes = try ClusterProcesses(executable: ClusterProcesses.currentExecutable, logDirectory: logDirectory)
            try startServices(processes)
        } catch {
            return "cannot start the services: \(error)"
        }
        let failure = await serve(processes, demo: demo)
        print("s2m3 up: stopping \(processes.all.count) services")
        fflush(nil)
        let killed = await processes.stopAll()
        print("s2m3 up: services stopped" + (killed.isEmpty ? "" : " (\(killed.joined(separator: ", ")) needed SIGKILL)"))
        return failure
    }

    private func startServices(_ processes: ClusterProcesses) throws {
        func common(_ identity: String) -> [String] { access.serviceArguments(identity: identity) + ["--root", root] }
        let catalog = ["--catalog", cluster.catalogPath, "--models", cluster.modelsDirectory]
        var started: [String] = []
        let ports = metricsPorts
        func metrics(_ name: String) -> [String] {
            ports[name].map { ["--metrics-port", String($0), "--metrics-host", "127.0.0.1"] } ?? []
        }
        // With fresh credentials (--secure) the broker runs the dynamic-security plugin and the
        // planner identity administers it: devices receive only their modules' invocations.
        let dynamicSecurity = access.credentials != nil ? ["--dynamic-security"] : []
        let planner = try processes.start("planner", ["planner"] + common(UpCredentials.planner) + catalog + metrics("planner") + dynamicSecurity)
        started.append("planner (pid \(planner.process.processIdentifier))")
        let aggregator = try processes.start(
            "agg-1", ["aggregator", "--id", UpCredentials.aggregator] + common(UpCredentials.aggregator) + catalog + aggregatorArguments + metrics("agg-1"))
        started.append("aggregator agg-1 (pid \(aggregator.process.processIdentifier))")
        for id in deviceIDs {
            let device = try processes.start(
                id, ["device", "--id", id, "--memory", String(budget)] + common(id) + catalog + deviceArguments + metrics(id))
            started.append("\(id) (pid \(device.process.processIdentifier))")
        }
        print("services: " + started.joined(separator: ", "))
        if !ports.isEmpty {
            let names = ["planner", "agg-1"] + deviceIDs
            print("metrics: " + names.compactMap { name in ports[name].map { "\(name) http://127.0.0.1:\($0)/metrics" } }.joined(separator: ", "))
        }
        print("logs: \(logDirectory)")
        fflush(nil)
    }

    private func serve(_ processes: ClusterProcesses, demo: Bool) async -> String? {
        var logger = Logger(label: "s2m3.up")
        logger.logLevel = .warning
        let watcherBroker: MQTTBrokerConfiguration
        let plansBroker: MQTTBrokerConfiguration
        let demoBroker: MQTTBrokerConfiguration
        do {
            // up follows the plan and the devices' telemetry as a monitor, which may read both.
            watcherBroker = try access.configuration(identity: UpCredentials.monitors[0])
            plansBroker = try access.configuration(identity: UpCredentials.monitors[1])
            demoBroker = try access.configuration(identity: UpCredentials.client)
        } catch {
            return "cannot read the credentials: \(error)"
        }
        let watcher = MQTTConnection(configuration: watcherBroker.configuration(clientID: "s2m3-up-\(getpid())"), logger: logger)
        let failure = await serve(processes, demo: demo, watcher: watcher, plansBroker: plansBroker, demoBroker: demoBroker, logger: logger)
        await watcher.disconnect()
        return failure
    }

    private func serve(
        _ processes: ClusterProcesses, demo: Bool, watcher: MQTTConnection, plansBroker: MQTTBrokerConfiguration,
        demoBroker: MQTTBrokerConfiguration, logger: Logger
    ) async -> String? {
        let topics = Topics(root: root)
        do {
            try await watcher.connect()
            try await watcher.subscribe(topics.plan)
            try await watcher.subscribe(topics.allDeviceTelemetry, qos: .atMostOnce)
        } catch {
            return "cannot follow the cluster on the broker: \(error)"
        }
        let readiness = ClusterReadiness(topics: topics, devices: deviceIDs)
        let messages = watcher.messages
        let timeout = readyTimeout
        let first = await race(processes) {
            .ready(await readiness.wait(messages: messages, timeout: timeout) { print("  \($0)"); fflush(nil) })
        }
        switch first {
        case .ready(let snapshot):
            guard snapshot.isReady(devices: deviceIDs) else { return notReady(snapshot) }
            report(snapshot)
        case .signal(let name):
            return name == "SIGTERM" || name == "SIGINT" ? nil : "stopped by \(name)"
        case .childExited(let name, let status, let log):
            return "\(name) exited during start-up (status \(status ?? -1)); its log:\n\(log)"
        case .brokerExited(let status):
            return "the broker exited (status \(status ?? -1))"
        case .demoFinished:
            return nil
        }
        // Serving: report re-plans (a child task) and children that die, until graceful shutdown
        // (SIGTERM, SIGINT) or the demo's end.
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { await reportPlanChanges(after: first, broker: plansBroker, logger: logger) }
            defer { group.cancelAll() }
            var reported = Set<String>()
            while true {
                let event = await race(processes, excluding: reported) {
                    if demo {
                        return .demoFinished(await DemoRunner(broker: demoBroker, root: root).run())
                    }
                    return await Self.shutdownRequested()
                }
                switch event {
                case .signal(let name):
                    print("s2m3 up: \(name)")
                    return nil
                case .demoFinished(let ok):
                    return ok ? nil : "the demo did not answer every task"
                case .childExited(let name, let status, let log):
                    reported.insert(name)
                    print("s2m3 up: \(name) exited unexpectedly (status \(status ?? -1)); its log ends:\n\(log)")
                    fflush(nil)
                    if reported.count == processes.all.count { return "every service exited" }
                case .brokerExited(let status):
                    return "the broker exited unexpectedly (status \(status ?? -1)); its log:\n\(mosquitto?.logTail() ?? "")"
                case .ready:
                    continue
                }
            }
        }
    }

    /// The graceful shutdown of the process (SIGTERM, SIGINT through its ServiceGroup), or nil when
    /// the waiting task is cancelled (another event came first).
    private static func shutdownRequested() async -> Event? {
        (try? await gracefulShutdown()) == nil ? nil : .signal("stopping (SIGTERM or SIGINT)")
    }

    /// The first of: `main`, a signal, a child's exit (not in `excluding`), the broker's exit.
    private func race(
        _ processes: ClusterProcesses, excluding: Set<String> = [], _ main: @escaping @Sendable () async -> Event?
    ) async -> Event {
        await withTaskGroup(of: Event?.self) { group in
            group.addTask { await main() }
            group.addTask { await Self.shutdownRequested() }
            group.addTask {
                guard let (member, status) = await processes.firstUnexpectedExit(excluding: excluding) else { return nil }
                return .childExited(member.name, status, ClusterProcesses.logTail(member.logPath))
            }
            if let mosquitto {
                group.addTask {
                    let status = await mosquitto.waitUntilExit()
                    return Task.isCancelled ? nil : .brokerExited(status)
                }
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .signal("end")
        }
    }

    /// Prints each new plan whose placement or unavailable tasks differ from the last one printed.
    private func reportPlanChanges(after first: Event, broker: MQTTBrokerConfiguration, logger: Logger) async {
        guard case .ready(let snapshot) = first, let last = snapshot.plan else { return }
        let connection = MQTTConnection(configuration: broker.configuration(clientID: "s2m3-up-plans-\(getpid())"), logger: logger)
        await follow(connection, last: last)
        await connection.disconnect()
    }

    private func follow(_ connection: MQTTConnection, last: PlanMessage) async {
        var last = last
        do {
            try await connection.connect()
            let messages = connection.messages
            try await connection.subscribe(Topics(root: root).plan)
            for await message in messages where !message.payload.isEmpty {
                guard let plan = try? PlanMessage(json: message.payload), plan.epoch > last.epoch else { continue }
                defer { last = plan }
                guard plan.placement != last.placement || plan.unavailableTasks != last.unavailableTasks else { continue }
                print("s2m3 up: re-planned (epoch \(plan.epoch)) for \(plan.devices.joined(separator: ", "))")
                print(ClusterReport.placement(plan: plan, cluster: cluster, budget: budget))
                fflush(nil)
            }
        } catch {
            print("s2m3 up: cannot follow the plan any more: \(error)")
        }
    }

    private func report(_ snapshot: ClusterReadiness.Snapshot) {
        guard let plan = snapshot.plan else { return }
        func seconds(_ duration: Duration?) -> String {
            guard let duration else { return "-" }
            return String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        }
        print("ready: plan for all \(devices) devices after \(seconds(snapshot.planAfter)), every device applied it after \(seconds(snapshot.readyAfter))")
        print(ClusterReport.placement(plan: plan, cluster: cluster, budget: budget))
        print(ClusterReport.sharing(cluster.sharing))
        print("broker: \(access.scheme)://\(access.endpoint) root \(root)")
        print(ClusterReport.howToRequest(access: access, root: root))
        print("Ctrl-C stops the cluster.")
        fflush(nil)
    }

    private func notReady(_ snapshot: ClusterReadiness.Snapshot) -> String {
        var problems: [String] = []
        if let plan = snapshot.plan {
            let missing = Set(deviceIDs).subtracting(plan.devices).sorted()
            if !missing.isEmpty { problems.append("the latest plan (epoch \(plan.epoch)) lacks \(missing.joined(separator: ", "))") }
            for id in deviceIDs where snapshot.assignments[id]?.epoch != plan.epoch || snapshot.assignments[id]?.status != .applied {
                let seen = snapshot.assignments[id].map { "epoch \($0.epoch) \($0.status.rawValue)" + ($0.reason.map { ": \($0)" } ?? "") }
                problems.append("\(id): " + (seen ?? (snapshot.telemetry[id] == nil ? "no telemetry" : "no assignment report")))
            }
        } else {
            problems.append("no plan was published")
        }
        return "the cluster was not ready after \(readyTimeout): " + problems.joined(separator: "; ") + " (logs in \(logDirectory))"
    }
}
