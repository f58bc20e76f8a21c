/// `devices/{device}/capabilities` (retained): what a device offers the planner.
public struct DeviceCapabilities: ControlMessage {
    public static let schema = "s2m3.device-capabilities/1"

    public enum SensorKind: String, MessageEnum {
        case camera, microphone, text, other
    }

    /// A sensor attached to the device (requests from it start here).
    public struct Sensor: Codable, Sendable, Hashable {
        public var id: String
        public var kind: SensorKind
        public init(id: String, kind: SensorKind) {
            self.id = id
            self.kind = kind
        }
    }

    /// Limits on what the device hosts and queues, besides its memory budget.
    public struct HostingLimits: Codable, Sendable, Hashable {
        /// At most this many modules loaded at once (nil: only memory limits it).
        public var maxModules: Int?
        /// Invocations waiting or running before the device answers `busy`.
        public var queueCapacity: Int
        /// Inference threads executing invocations in parallel.
        public var inferenceThreads: Int
        public init(maxModules: Int? = nil, queueCapacity: Int, inferenceThreads: Int) {
            self.maxModules = maxModules
            self.queueCapacity = queueCapacity
            self.inferenceThreads = inferenceThreads
        }
    }

    public var device: String
    /// The session of the agent run that measured these (see ``DeviceState/session``).
    public var session: String
    /// Memory the whole agent process may use, bytes: its own footprint and its modules.
    public var memoryBudgetBytes: Int
    /// The agent's own resident memory before any module is loaded, measured at start (absent: 0).
    /// The planner places at most `memoryBudgetBytes − baseMemoryBytes` of modules on the device.
    public var baseMemoryBytes: Int?
    /// Compute speed measured by the agent's start-up benchmark, GFLOP/s.
    public var computeGflops: Double
    public var cores: Int
    public var sensors: [Sensor]
    public var limits: HostingLimits
    /// Version of the S2M3 software the agent runs.
    public var softwareVersion: String
    public var timestampMs: Int

    public init(
        device: String, session: String, memoryBudgetBytes: Int, baseMemoryBytes: Int? = nil, computeGflops: Double, cores: Int,
        sensors: [Sensor], limits: HostingLimits, softwareVersion: String, timestampMs: Int
    ) {
        self.device = device
        self.session = session
        self.memoryBudgetBytes = memoryBudgetBytes
        self.baseMemoryBytes = baseMemoryBytes
        self.computeGflops = computeGflops
        self.cores = cores
        self.sensors = sensors
        self.limits = limits
        self.softwareVersion = softwareVersion
        self.timestampMs = timestampMs
    }

    /// What the device's modules may use together: the budget less the agent's own footprint.
    public var moduleMemoryBytes: Int { memoryBudgetBytes - (baseMemoryBytes ?? 0) }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(device, "device")
        try MessageCheck.requestID(session, "session")
        try MessageCheck.within(memoryBudgetBytes, 1...ValueRange.bytes.upperBound, "memoryBudgetBytes")
        if let baseMemoryBytes {
            try MessageCheck.within(baseMemoryBytes, ValueRange.bytes, "baseMemoryBytes")
            guard baseMemoryBytes < memoryBudgetBytes else {
                throw MessageError(
                    .invalidField, field: "baseMemoryBytes", "is \(baseMemoryBytes), not below memoryBudgetBytes \(memoryBudgetBytes): nothing is left for modules")
            }
        }
        try MessageCheck.within(computeGflops, ValueRange.gflops, "computeGflops")
        try MessageCheck.within(cores, 1...ValueRange.count.upperBound, "cores")
        try MessageCheck.identifierList(sensors.map(\.id), "sensors.id")
        if let maxModules = limits.maxModules { try MessageCheck.within(maxModules, 1...ValueRange.count.upperBound, "limits.maxModules") }
        try MessageCheck.within(limits.queueCapacity, 1...ValueRange.count.upperBound, "limits.queueCapacity")
        try MessageCheck.within(limits.inferenceThreads, 1...ValueRange.count.upperBound, "limits.inferenceThreads")
        try MessageCheck.nonEmpty(softwareVersion, "softwareVersion", maxLength: 64)
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
    }
}
