/// What `s2m3 status` shows: the cluster as its bus messages describe it at one moment, built by
/// ``ClusterStatus`` (and printed as JSON by `s2m3 status --once --json`, schema
/// `s2m3.cluster-status/1`). Sorted by id everywhere, so equal clusters give equal JSON.
public struct ClusterSnapshot: Codable, Sendable, Hashable {
    /// Whether a service is known to be up: from its retained state, or `unknown` when only the
    /// plan names it.
    public enum Presence: String, Codable, Sendable, Hashable {
        case online, offline, unknown
    }

    /// The retained plan.
    public struct Plan: Codable, Sendable, Hashable {
        public var epoch: Int
        public var createdAtMs: Int
        public var algorithm: String
        public var devices: [String]
        public var unavailableTasks: [String: String]
    }

    public struct Device: Codable, Sendable, Hashable {
        public var id: String
        public var status: Presence
        /// Why it is offline (`last-will`, `shutdown`).
        public var reason: String?
        /// When its state was produced, Unix ms.
        public var sinceMs: Int?
        public var memoryBudgetBytes: Int?
        /// Resident memory of the agent process (telemetry).
        public var residentMemoryBytes: Int?
        /// Modules the plan puts on this device.
        public var assignedModules: [String]
        /// Modules it reports loaded (telemetry).
        public var loadedModules: [String]?
        public var queueDepth: Int?
        public var queueCapacity: Int?
        /// Measured compute time per module (telemetry).
        public var modules: [String: DeviceTelemetry.ModuleTiming]?
        /// How far it got with its latest assignment (telemetry).
        public var assignment: DeviceTelemetry.AssignmentReport?
        /// Age of its latest telemetry, ms (absent: none seen).
        public var telemetryAgeMs: Int?
        /// The agent process's highest resident memory since it started (telemetry).
        public var peakResidentMemoryBytes: Int? = nil
        /// The agent's own footprint, counted against its budget (capabilities).
        public var baseMemoryBytes: Int? = nil
    }

    /// One module of the plan: where its replicas are and how fast each one ran.
    public struct Module: Codable, Sendable, Hashable {
        public var module: String
        /// Devices the plan puts a replica on.
        public var devices: [String]
        /// Measured median compute time per device, ms (devices that have run it).
        public var p50Ms: [String: Double]
    }

    public struct Aggregator: Codable, Sendable, Hashable {
        public var id: String
        public var status: Presence
        public var reason: String?
        public var sinceMs: Int?
        /// From its telemetry (absent: none seen).
        public var epoch: Int?
        public var inFlight: Int?
        public var requestsPerSecond: Double?
        /// Counts over `windowMs`.
        public var windowMs: Int?
        public var requests: Int?
        public var results: Int?
        public var errors: [String: Int]?
        public var telemetryAgeMs: Int?
    }

    public struct Planner: Codable, Sendable, Hashable {
        public var id: String
        public var status: Presence
        public var reason: String?
        public var sinceMs: Int?
        /// From its telemetry (absent: none seen).
        public var epoch: Int?
        public var liveDevices: [String]?
        public var replans: Int?
        public var lastSolveMs: Double?
        public var lastPlanAtMs: Int?
        public var telemetryAgeMs: Int?
    }

    /// One error seen on `errors/{task}`.
    public struct RecentError: Codable, Sendable, Hashable {
        public var task: String
        public var code: String
        public var requestId: String?
        public var reason: String
        public var timestampMs: Int
    }

    /// Errors seen on `errors/+` since the observer started.
    public struct Errors: Codable, Sendable, Hashable {
        public var byCode: [String: Int]
        /// The latest few, newest last.
        public var recent: [RecentError]
    }

    /// One task's predicted latency (the plan's) beside the measured one (the aggregators').
    public struct TaskLatency: Codable, Sendable, Hashable {
        public var task: String
        /// The current plan's prediction, ms.
        public var predictedMs: Double?
        /// The median time from receipt to result at the aggregator that answered the task most
        /// often recently, ms, and over how many results in all it was measured.
        public var measuredP50Ms: Double?
        public var measuredCount: Int?
    }

    public var schema = "s2m3.cluster-status/1"
    public var takenAtMs: Int
    public var plan: Plan?
    public var devices: [Device]
    public var modules: [Module]
    public var aggregators: [Aggregator]
    public var planners: [Planner]
    /// Every task the plan predicts or an aggregator measured, sorted by id.
    public var tasks: [TaskLatency] = []
    public var errors: Errors
    /// Messages that were not what their topic promises (garbage, forged, another version): ignored.
    public var ignoredMessages: Int
}
