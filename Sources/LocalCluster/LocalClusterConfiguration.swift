import Foundation
import S2M3Core

/// What a ``RunningCluster`` runs: a broker (started here, or an existing one), the planner, one
/// aggregator and ``devices`` device agents, each a child process of ``executable`` (`s2m3`).
public struct LocalClusterConfiguration: Sendable {
    /// The broker the services use.
    public enum Broker: Sendable {
        /// Start a Mosquitto from `template` (default `broker-config/dev.conf`, or `secure.conf`
        /// with `secure`, which also makes fresh credentials, one identity per service) on `port`
        /// (nil: the config's when free, else a free one; 0: a free one).
        case start(secure: Bool = false, template: String? = nil, port: Int? = nil)
        /// An existing broker.
        case existing(UpBrokerAccess)
    }

    /// The catalog, loaded with the modules' costs.
    public var cluster: ClusterCatalog
    public var devices = 3
    /// Each device's memory budget in bytes (the whole agent process); nil: ``ClusterBudget/deviceBudget(total:largest:devices:base:)``.
    public var deviceMemory: Int?
    public var broker = Broker.start()
    public var root = Topics.defaultRoot
    /// The services' logs, `<name>.log` (created when missing).
    public var logDirectory: String
    /// How long to wait for every device to apply the plan.
    public var readyTimeout: Duration = .seconds(300)
    /// Extra arguments for every `s2m3 device`, for the aggregator and for the planner.
    public var deviceArguments: [String] = []
    public var aggregatorArguments: [String] = []
    public var plannerArguments: [String] = []
    /// The planner's metrics port; the aggregator gets the next, the devices the ones after (nil: none).
    public var metricsPortBase: Int?
    /// The `s2m3` executable the services run (default: this process's own).
    public var executable = ClusterProcesses.currentExecutable
    /// Where to write ``ClusterEnvironmentFile`` while the cluster runs (nil: nowhere).
    public var clusterFile: String? = ClusterEnvironmentFile.path
    /// How crashed children are restarted (nil: never; a dead service stays dead, a dead broker stops the cluster).
    public var restarts: RestartPolicy? = RestartPolicy()

    public init(cluster: ClusterCatalog, logDirectory: String) {
        self.cluster = cluster
        self.logDirectory = logDirectory
    }

    /// The devices' ids: `box-1` … `box-N`.
    public var deviceIDs: [String] { (1...max(devices, 1)).map { "box-\($0)" } }

    /// Every service's name, in starting order: `planner`, `agg-1`, then the devices.
    public var serviceNames: [String] { [UpCredentials.planner, UpCredentials.aggregator] + deviceIDs }

    /// The budget each device gets.
    public var budget: Int {
        let (total, largest) = cluster.placement.moduleMemory
        return deviceMemory
            ?? ClusterBudget.deviceBudget(total: total, largest: largest, devices: devices, base: cluster.processBaseBytes)
    }

    /// Service name → metrics port: the planner ``metricsPortBase``, `agg-1` the next, then the devices.
    public var metricsPorts: [String: Int] {
        guard let base = metricsPortBase else { return [:] }
        return Dictionary(uniqueKeysWithValues: serviceNames.enumerated().map { ($1, base + $0) })
    }

    /// Checks the numbers before anything starts.
    public func validate() throws {
        guard (1...64).contains(devices) else { throw LocalClusterError(.configuration, "the number of devices must be between 1 and 64") }
        if let deviceMemory, deviceMemory <= 0 { throw LocalClusterError(.configuration, "the device memory must be positive") }
        guard readyTimeout > .zero, readyTimeout <= .seconds(86_400) else { throw LocalClusterError(.configuration, "the ready timeout must be in (0, 86400] seconds") }
        if case .start(_, _, let port?) = broker, !(0...65535).contains(port) { throw LocalClusterError(.configuration, "the broker port must be 0…65535") }
        if let metricsPortBase, !(1...(65535 - devices - 1)).contains(metricsPortBase) {
            throw LocalClusterError(.configuration, "the metrics port base must be 1…\(65535 - devices - 1): the \(devices + 2) services get consecutive ports from it")
        }
        if let restarts, restarts.crashLimit < 1 || restarts.firstDelay < .zero || restarts.window <= .zero {
            throw LocalClusterError(.configuration, "the restart policy needs a crash limit ≥ 1, a delay ≥ 0 and a window > 0")
        }
    }
}
