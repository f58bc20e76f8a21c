/// `devices/{device}/telemetry` (not retained, about once a second): the load a device is under
/// and what it has measured, for the planner (re-planning on drift) and the aggregators (routing
/// by predicted finish time).
public struct DeviceTelemetry: ControlMessage {
    public static let schema = "s2m3.device-telemetry/1"

    /// Measured execution time of one module on this device (compute only, queue wait excluded).
    public typealias ModuleTiming = MeasuredTiming

    /// How far the device got with its latest assignment.
    public struct AssignmentReport: Codable, Sendable, Hashable {
        public enum Status: String, MessageEnum {
            /// Modules are being loaded or unloaded.
            case loading
            /// Exactly the assigned modules are loaded.
            case applied
            /// The assignment would overrun the memory budget (or a module failed to load); the
            /// device keeps what it had and says why in `reason`.
            case refused
        }
        public var epoch: Int
        public var status: Status
        public var reason: String?
        public init(epoch: Int, status: Status, reason: String? = nil) {
            self.epoch = epoch
            self.status = status
            self.reason = reason
        }
    }

    public var device: String
    public var timestampMs: Int
    /// Invocations waiting or running now.
    public var queueDepth: Int
    /// The bound of the queue; a device with `queueDepth == queueCapacity` answers `busy`.
    public var queueCapacity: Int
    /// `queueDepth` by the aggregator that sent the invocations (`replyTo`): an aggregator counts
    /// its own unanswered work exactly and only the rest from this report, which is up to a second
    /// old (absent from devices before it was added).
    public var queuedBy: [String: Int]?
    /// Resident memory of the agent process, bytes.
    public var residentMemoryBytes: Int
    /// The agent's memory budget (as in its capabilities), so that resident memory reads against it.
    public var memoryBudgetBytes: Int?
    /// The highest resident memory of the agent process since it started (`VmHWM`), bytes.
    public var peakResidentMemoryBytes: Int?
    public var loadedModules: [String]
    /// Measured time per module id.
    public var modules: [String: ModuleTiming]
    public var assignment: AssignmentReport?

    public init(
        device: String, timestampMs: Int, queueDepth: Int, queueCapacity: Int, residentMemoryBytes: Int,
        loadedModules: [String], modules: [String: ModuleTiming], assignment: AssignmentReport? = nil,
        memoryBudgetBytes: Int? = nil, peakResidentMemoryBytes: Int? = nil
    ) {
        self.memoryBudgetBytes = memoryBudgetBytes
        self.peakResidentMemoryBytes = peakResidentMemoryBytes
        self.device = device
        self.timestampMs = timestampMs
        self.queueDepth = queueDepth
        self.queueCapacity = queueCapacity
        self.residentMemoryBytes = residentMemoryBytes
        self.loadedModules = loadedModules
        self.modules = modules
        self.assignment = assignment
    }

    /// Telemetry older than this is useless: the broker drops it rather than deliver it late.
    public static let messageExpirySeconds: UInt32 = 10

    public func properties() -> MessageProperties {
        MessageProperties(contentType: MediaType.json, messageExpirySeconds: Self.messageExpirySeconds)
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(device, "device")
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
        try MessageCheck.within(queueCapacity, 1...ValueRange.count.upperBound, "queueCapacity")
        try MessageCheck.within(queueDepth, ValueRange.count, "queueDepth")
        guard queueDepth <= queueCapacity else {
            throw MessageError(.invalidField, field: "queueDepth", "is \(queueDepth), above queueCapacity \(queueCapacity)")
        }
        if let queuedBy {
            for (aggregator, count) in queuedBy.sorted(by: { $0.key < $1.key }) {
                try MessageCheck.identifier(aggregator, "queuedBy.\(LimitsConfiguration.echo(aggregator))")
                try MessageCheck.within(count, 1...ValueRange.count.upperBound, "queuedBy.\(aggregator)")
            }
            let total = queuedBy.values.reduce(0) { $0 + $1 }
            guard total <= queueDepth else {
                throw MessageError(.invalidField, field: "queuedBy", "sums to \(total), above queueDepth \(queueDepth)")
            }
        }
        try MessageCheck.within(residentMemoryBytes, ValueRange.bytes, "residentMemoryBytes")
        if let memoryBudgetBytes { try MessageCheck.within(memoryBudgetBytes, 1...ValueRange.bytes.upperBound, "memoryBudgetBytes") }
        if let peakResidentMemoryBytes {
            try MessageCheck.within(peakResidentMemoryBytes, ValueRange.bytes, "peakResidentMemoryBytes")
            guard peakResidentMemoryBytes >= residentMemoryBytes else {
                throw MessageError(
                    .invalidField, field: "peakResidentMemoryBytes", "is \(peakResidentMemoryBytes), below residentMemoryBytes \(residentMemoryBytes)")
            }
        }
        try MessageCheck.identifierList(loadedModules, "loadedModules")
        try MeasuredTiming.validate(modules, "modules")
        if let assignment {
            try MessageCheck.within(assignment.epoch, ValueRange.epoch, "assignment.epoch")
            if assignment.status == .refused {
                try MessageCheck.nonEmpty(assignment.reason ?? "", "assignment.reason")
            }
        }
    }
}
