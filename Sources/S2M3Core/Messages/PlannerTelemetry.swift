/// `planners/{planner}/telemetry` (not retained, about once a second): what the planner plans
/// for, for operators and `s2m3 status`.
public struct PlannerTelemetry: ControlMessage {
    public static let schema = "s2m3.planner-telemetry/1"

    public var planner: String
    public var timestampMs: Int
    /// Epoch of the last plan published or adopted (absent before the first).
    public var epoch: Int?
    /// The devices the planner counts as live (online, with capabilities), sorted.
    public var liveDevices: [String]
    /// Plans made since the planner started.
    public var replans: Int
    /// How long the last placement took to solve, ms (absent before the first).
    public var lastSolveMs: Double?
    /// When the last plan was published, Unix ms (absent before the first).
    public var lastPlanAtMs: Int?

    public init(
        planner: String, timestampMs: Int, epoch: Int?, liveDevices: [String], replans: Int, lastSolveMs: Double?,
        lastPlanAtMs: Int?
    ) {
        self.planner = planner
        self.timestampMs = timestampMs
        self.epoch = epoch
        self.liveDevices = liveDevices
        self.replans = replans
        self.lastSolveMs = lastSolveMs
        self.lastPlanAtMs = lastPlanAtMs
    }

    public func properties() -> MessageProperties {
        MessageProperties(contentType: MediaType.json, messageExpirySeconds: DeviceTelemetry.messageExpirySeconds)
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(planner, "planner")
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
        if let epoch { try MessageCheck.within(epoch, ValueRange.epoch, "epoch") }
        guard liveDevices.count <= 4_096 else { throw MessageError(.invalidField, field: "liveDevices", "lists \(liveDevices.count) devices; at most 4096") }
        try MessageCheck.identifierList(liveDevices, "liveDevices")
        try MessageCheck.within(replans, ValueRange.count, "replans")
        if let lastSolveMs { try MessageCheck.within(lastSolveMs, ValueRange.durationMs, "lastSolveMs") }
        if let lastPlanAtMs { try MessageCheck.within(lastPlanAtMs, ValueRange.timestampMs, "lastPlanAtMs") }
    }
}
