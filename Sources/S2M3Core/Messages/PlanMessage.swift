/// `plan` (retained): the planner's numbered placement and routing table. Every service reads it;
/// aggregators route each task node over `routes`, devices learn their part from their own
/// ``DeviceAssignment``.
public struct PlanMessage: ControlMessage {
    public static let schema = "s2m3.plan/1"

    /// A change from the previous epoch's placement.
    public struct Move: Codable, Sendable, Hashable {
        public enum Action: String, MessageEnum {
            case load, unload
        }
        public var module: String
        public var device: String
        public var action: Action
        public init(module: String, device: String, action: Action) {
            self.module = module
            self.device = device
            self.action = action
        }
    }

    /// Increases by one with every plan.
    public var epoch: Int
    public var createdAtMs: Int
    /// The algorithm that made it (`greedy`, `exact`, `auto`, …).
    public var algorithm: String
    /// The devices the plan was made for (online when it was made).
    public var devices: [String]
    /// Module id → devices hosting a replica of it.
    public var placement: [String: [String]]
    /// Task id → task node id → candidate devices for that node, best first.
    public var routes: [String: [String: [String]]]
    /// Task id → predicted latency of one request, ms.
    public var predictedLatencyMs: [String: Double]
    /// The minimised objective (rate-weighted mean task latency), ms.
    public var objectiveMs: Double
    /// Whether the algorithm proved no plan has a lower objective.
    public var provenOptimal: Bool
    public var previousEpoch: Int?
    /// Loads and unloads relative to `previousEpoch` (empty for the first plan).
    public var moves: [Move]
    /// Tasks no device set can serve under this plan, with the reason.
    public var unavailableTasks: [String: String]?

    public init(
        epoch: Int, createdAtMs: Int, algorithm: String, devices: [String], placement: [String: [String]],
        routes: [String: [String: [String]]], predictedLatencyMs: [String: Double], objectiveMs: Double,
        provenOptimal: Bool, previousEpoch: Int? = nil, moves: [Move] = [], unavailableTasks: [String: String]? = nil
    ) {
        self.epoch = epoch
        self.createdAtMs = createdAtMs
        self.algorithm = algorithm
        self.devices = devices
        self.placement = placement
        self.routes = routes
        self.predictedLatencyMs = predictedLatencyMs
        self.objectiveMs = objectiveMs
        self.provenOptimal = provenOptimal
        self.previousEpoch = previousEpoch
        self.moves = moves
        self.unavailableTasks = unavailableTasks
    }

    public func properties() -> MessageProperties {
        MessageProperties(contentType: MediaType.json, userProperties: [.init(MessageProperties.epochName, String(epoch))])
    }

    public func validate() throws(MessageError) {
        try MessageCheck.within(epoch, ValueRange.epoch, "epoch")
        try MessageCheck.within(createdAtMs, ValueRange.timestampMs, "createdAtMs")
        try MessageCheck.identifier(algorithm, "algorithm")
        try MessageCheck.identifierList(devices, "devices")
        let known = Set(devices)
        func checkDevices(_ list: [String], _ field: String) throws(MessageError) {
            guard !list.isEmpty else { throw MessageError(.invalidField, field: field, "must name at least one device") }
            try MessageCheck.identifierList(list, field)
            for (index, device) in list.enumerated() where !known.contains(device) {
                throw MessageError(.invalidField, field: "\(field)[\(index)]", "'\(device)' is not in devices")
            }
        }
        for (module, hosts) in placement.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(module, "placement.\(module)")
            try checkDevices(hosts, "placement.\(module)")
        }
        for (task, nodes) in routes.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(task, "routes.\(task)")
            for (node, candidates) in nodes.sorted(by: { $0.key < $1.key }) {
                try MessageCheck.identifier(node, "routes.\(task).\(node)")
                try checkDevices(candidates, "routes.\(task).\(node)")
            }
            guard predictedLatencyMs[task] != nil else {
                throw MessageError(.missingField, field: "predictedLatencyMs.\(task)", "every routed task needs a prediction")
            }
        }
        for (task, latency) in predictedLatencyMs.sorted(by: { $0.key < $1.key }) { try MessageCheck.within(latency, ValueRange.durationMs, "predictedLatencyMs.\(task)") }
        try MessageCheck.within(objectiveMs, ValueRange.durationMs, "objectiveMs")
        if let previousEpoch {
            guard previousEpoch >= 1, previousEpoch < epoch else {
                throw MessageError(.invalidField, field: "previousEpoch", "is \(previousEpoch); must be between 1 and epoch - 1")
            }
        }
        for (index, move) in moves.enumerated() {
            let hosted = placement[move.module]?.contains(move.device) ?? false
            guard hosted == (move.action == .load) else {
                throw MessageError(
                    .invalidField, field: "moves[\(index)]",
                    "\(move.action.rawValue) of '\(move.module)' on '\(move.device)' contradicts placement")
            }
        }
        for (task, reason) in (unavailableTasks ?? [:]).sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(task, "unavailableTasks.\(task)")
            try MessageCheck.nonEmpty(reason, "unavailableTasks.\(task)")
            guard routes[task] == nil else {
                throw MessageError(.invalidField, field: "unavailableTasks.\(task)", "task is also routed")
            }
        }
    }
}
