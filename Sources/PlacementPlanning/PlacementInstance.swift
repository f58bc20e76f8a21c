import S2M3Core
/// A placement problem: devices, the modules to place on them, and the tasks that invoke them.
///
/// Pure data. Build it in code or decode it from the documented JSON format
/// (``PlacementInstance/init(json:)``, docs/placement.md); ``validate()`` checks it either way.
public struct PlacementInstance: Sendable, Hashable {
    public var devices: [PlacementDevice]
    public var modules: [PlacementModule]
    public var tasks: [PlacementTask]
    /// Published models and the modules they consist of (optional; only the sharing report uses it).
    public var models: [PlacementModel]
    /// How an output reaches the node that consumes it.
    public var transfers: PlacementTransfers

    public init(
        devices: [PlacementDevice], modules: [PlacementModule], tasks: [PlacementTask],
        models: [PlacementModel] = [], transfers: PlacementTransfers = .direct
    ) {
        self.devices = devices
        self.modules = modules
        self.tasks = tasks
        self.models = models
        self.transfers = transfers
    }
}

/// How one node's output reaches the next node (docs/placement.md, "Transfers").
public enum PlacementTransfers: String, Sendable, Hashable, CaseIterable {
    /// Straight from the producing device to the consuming one: free when both are the same
    /// device (a device that runs a chain itself), else across both links.
    case direct
    /// Through the aggregator: every invocation's inputs cross its device's link in and its
    /// outputs cross it back, on one device too. This is how `s2m3` runs today (the aggregator
    /// forwards every output), so the live planner predicts with it.
    case viaAggregator = "via-aggregator"
}

/// An edge box: how much memory the modules may use, how fast it computes, how it is connected.
public struct PlacementDevice: Sendable, Hashable {
    public var id: String
    /// Memory budget for module weights and working sets, in bytes.
    public var memoryBytes: Int
    /// Sustained compute speed in GFLOP per second (calibrated or estimated).
    public var gflops: Double
    public var link: PlacementLink

    public init(id: String, memoryBytes: Int, gflops: Double, link: PlacementLink) {
        self.id = id
        self.memoryBytes = memoryBytes
        self.gflops = gflops
        self.link = link
    }
}

/// A device's link to the message broker, the hub every transfer between devices crosses.
public struct PlacementLink: Sendable, Hashable {
    /// Bandwidth in megabits per second (10^6 bit/s).
    public var bandwidthMbps: Double
    /// One-way latency in milliseconds.
    public var latencyMs: Double

    public init(bandwidthMbps: Double, latencyMs: Double) {
        self.bandwidthMbps = bandwidthMbps
        self.latencyMs = latencyMs
    }

    /// Seconds to move `bytes` across this link once (latency + size / bandwidth).
    public func seconds(bytes: Double) -> Double {
        latencyMs / 1000 + bytes * 8 / (bandwidthMbps * 1_000_000)
    }
}

/// One placeable module: an encoder, a head, a decoder, a language model.
public struct PlacementModule: Sendable, Hashable {
    public var id: String
    /// Resident memory when loaded, in bytes (counted once per hosting device, however many tasks use it).
    public var memoryBytes: Int
    /// Compute per invocation in GFLOP.
    public var gflop: Double
    /// Size of one invocation's output in bytes (what the next module receives).
    public var outputBytes: Int
    /// Published parameter count, if known (documentation only).
    public var parameters: Int?
    public var description: String?

    public init(
        id: String, memoryBytes: Int, gflop: Double, outputBytes: Int,
        parameters: Int? = nil, description: String? = nil
    ) {
        self.id = id
        self.memoryBytes = memoryBytes
        self.gflop = gflop
        self.outputBytes = outputBytes
        self.parameters = parameters
        self.description = description
    }
}

/// A request type: its graph of module invocations and how often, and how much, it matters.
public struct PlacementTask: Sendable, Hashable {
    public var id: String
    /// Requests per second (weights the task in the objective and loads the devices it runs on).
    public var rate: Double
    /// Importance multiplier in the objective (default 1).
    public var priority: Double
    public var graph: TaskGraph

    public init(id: String, rate: Double, priority: Double = 1, graph: TaskGraph) {
        self.id = id
        self.rate = rate
        self.priority = priority
        self.graph = graph
    }

    /// The task's weight in the objective: rate × priority.
    public var weight: Double { rate * priority }
}

/// A published model as a list of module ids (for the memory-saved-by-sharing report).
public struct PlacementModel: Sendable, Hashable {
    public var id: String
    public var modules: [String]
    public var description: String?

    public init(id: String, modules: [String], description: String? = nil) {
        self.id = id
        self.modules = modules
        self.description = description
    }
}
