/// Folds the messages an observer reads on the bus (the retained plan and states, telemetry,
/// errors) into a ``ClusterSnapshot``: what `s2m3 status` shows. Pure: no I/O, time is passed in.
///
/// Every payload is decoded with its message type's strict decoding, and must name the same device,
/// planner or aggregator as its topic (the topic is what the broker's ACL proves); anything else is
/// counted in ``ignoredMessages`` and changes nothing. An empty payload on a retained topic clears
/// it. A late `offline` of an earlier session does not take the current session offline (topics.md,
/// last will).
public struct ClusterStatus: Sendable {
    public let topics: Topics
    /// How many of the latest errors a snapshot lists.
    public let recentErrorLimit: Int

    struct Received<Message: Sendable>: Sendable {
        var message: Message
        var atMs: Int
    }

    private var plan: PlanMessage?
    private var deviceStates: [String: DeviceState] = [:]
    private var capabilities: [String: DeviceCapabilities] = [:]
    private var deviceTelemetry: [String: Received<DeviceTelemetry>] = [:]
    private var aggregatorStates: [String: ServiceState] = [:]
    private var aggregatorTelemetry: [String: Received<AggregatorTelemetry>] = [:]
    private var plannerStates: [String: ServiceState] = [:]
    private var plannerTelemetry: [String: Received<PlannerTelemetry>] = [:]
    private var errorCounts: [String: Int] = [:]
    private var recentErrors: [ClusterSnapshot.RecentError] = []
    /// Messages ignored because they were not what their topic promises.
    public private(set) var ignoredMessages = 0
    /// Why the last ignored message was ignored (for logs).
    public private(set) var lastProblem: String?

    public init(topics: Topics = Topics(), recentErrorLimit: Int = 10) {
        self.topics = topics
        self.recentErrorLimit = max(0, recentErrorLimit)
    }

    /// The topic filters to subscribe to for ``receive(topic:payload:nowMs:)``.
    public var subscriptions: [String] {
        [
            topics.plan, topics.allDeviceStates, topics.allDeviceCapabilities, topics.allDeviceTelemetry,
            topics.allPlannerStates, topics.allPlannerTelemetry, topics.allAggregatorStates, topics.allAggregatorTelemetry,
            topics.allErrors,
        ]
    }

    /// Takes one message; returns false (and counts it in ``ignoredMessages``) when it was ignored.
    /// Topics this type does not follow are ignored without being counted.
    @discardableResult
    public mutating func receive(topic: String, payload: [UInt8], nowMs: Int) -> Bool {
        do throws(MessageError) {
            try take(topic: topic, payload: payload, nowMs: nowMs)
            return true
        } catch {
            ignoredMessages += 1
            lastProblem = "\(topic): \(error)"
            return false
        }
    }

    private mutating func take(topic: String, payload: [UInt8], nowMs: Int) throws(MessageError) {
        if topic == topics.plan {
            plan = payload.isEmpty ? nil : try PlanMessage(json: payload)
        } else if let device = topics.device(fromDeviceTopic: topic) {
            try takeDevice(device, topic: topic, payload: payload, nowMs: nowMs)
        } else if let aggregator = topics.aggregator(fromAggregatorTopic: topic) {
            if topic == topics.aggregatorState(aggregator) {
                try Self.takeState(payload, role: .aggregator, id: aggregator, into: &aggregatorStates)
            } else if topic == topics.aggregatorTelemetry(aggregator) {
                let telemetry = try AggregatorTelemetry(json: payload)
                try Self.same(telemetry.aggregator, aggregator, "aggregator")
                aggregatorTelemetry[aggregator] = Received(message: telemetry, atMs: nowMs)
            }
        } else if let planner = topics.planner(fromPlannerTopic: topic) {
            if topic == topics.plannerState(planner) {
                try Self.takeState(payload, role: .planner, id: planner, into: &plannerStates)
            } else if topic == topics.plannerTelemetry(planner) {
                let telemetry = try PlannerTelemetry(json: payload)
                try Self.same(telemetry.planner, planner, "planner")
                plannerTelemetry[planner] = Received(message: telemetry, atMs: nowMs)
            }
        } else if topics.task(fromErrorTopic: topic) != nil {
            let error = try TaskErrorMessage(json: payload)
            errorCounts[error.code.rawValue, default: 0] += 1
            recentErrors.append(ClusterSnapshot.RecentError(
                task: error.task, code: error.code.rawValue, requestId: error.requestID, reason: error.reason, timestampMs: error.timestampMs))
            if recentErrors.count > recentErrorLimit { recentErrors.removeFirst(recentErrors.count - recentErrorLimit) }
        }
    }

    private mutating func takeDevice(_ device: String, topic: String, payload: [UInt8], nowMs: Int) throws(MessageError) {
        if topic == topics.deviceState(device) {
            guard !payload.isEmpty else {
                deviceStates[device] = nil
                return
            }
            let state = try DeviceState(json: payload)
            try Self.same(state.device, device, "device")
            if state.status == .offline, let current = deviceStates[device], current.session != state.session { return }
            deviceStates[device] = state
        } else if topic == topics.deviceCapabilities(device) {
            guard !payload.isEmpty else {
                capabilities[device] = nil
                return
            }
            let caps = try DeviceCapabilities(json: payload)
            try Self.same(caps.device, device, "device")
            capabilities[device] = caps
        } else if topic == topics.deviceTelemetry(device) {
            let telemetry = try DeviceTelemetry(json: payload)
            try Self.same(telemetry.device, device, "device")
            deviceTelemetry[device] = Received(message: telemetry, atMs: nowMs)
        }
    }

    private static func takeState(
        _ payload: [UInt8], role: ServiceState.Role, id: String, into states: inout [String: ServiceState]
    ) throws(MessageError) {
        guard !payload.isEmpty else {
            states[id] = nil
            return
        }
        let state = try ServiceState(json: payload)
        guard state.role == role else {
            throw MessageError(.invalidField, field: "role", "is '\(state.role.rawValue)' on a topic of \(role.rawValue)s")
        }
        try same(state.id, id, "id")
        if state.status == .offline, let current = states[id], current.session != state.session { return }
        states[id] = state
    }

    /// The payload names the topic's device, planner or aggregator.
    private static func same(_ named: String, _ fromTopic: String, _ field: String) throws(MessageError) {
        guard named == fromTopic else {
            throw MessageError(.invalidField, field: field, "'\(named)' differs from '\(fromTopic)' in the topic")
        }
    }
}

extension ClusterStatus {
    /// The cluster as of `nowMs`.
    public func snapshot(nowMs: Int) -> ClusterSnapshot {
        let placement = plan?.placement ?? [:]
        var hosted: [String: [String]] = [:]
        for (module, devices) in placement {
            for device in devices { hosted[device, default: []].append(module) }
        }
        let deviceIDs = Set(deviceStates.keys).union(capabilities.keys).union(deviceTelemetry.keys).union(plan?.devices ?? [])
        let devices = deviceIDs.sorted().map { id -> ClusterSnapshot.Device in
            let state = deviceStates[id], telemetry = deviceTelemetry[id]
            return ClusterSnapshot.Device(
                id: id, status: Self.presence(state?.status), reason: state?.status == .offline ? state?.reason : nil,
                sinceMs: state?.timestampMs, memoryBudgetBytes: capabilities[id]?.memoryBudgetBytes,
                residentMemoryBytes: telemetry?.message.residentMemoryBytes, assignedModules: (hosted[id] ?? []).sorted(),
                loadedModules: telemetry?.message.loadedModules, queueDepth: telemetry?.message.queueDepth,
                queueCapacity: telemetry?.message.queueCapacity, modules: telemetry?.message.modules,
                assignment: telemetry?.message.assignment, telemetryAgeMs: telemetry.map { max(0, nowMs - $0.atMs) },
                peakResidentMemoryBytes: telemetry?.message.peakResidentMemoryBytes, baseMemoryBytes: capabilities[id]?.baseMemoryBytes)
        }
        let modules = placement.keys.sorted().map { module -> ClusterSnapshot.Module in
            var p50: [String: Double] = [:]
            for (device, telemetry) in deviceTelemetry {
                if let timing = telemetry.message.modules[module] { p50[device] = timing.p50Ms }
            }
            return ClusterSnapshot.Module(module: module, devices: placement[module] ?? [], p50Ms: p50)
        }
        let aggregators = Set(aggregatorStates.keys).union(aggregatorTelemetry.keys).sorted().map { id -> ClusterSnapshot.Aggregator in
            let state = aggregatorStates[id], telemetry = aggregatorTelemetry[id]?.message
            return ClusterSnapshot.Aggregator(
                id: id, status: Self.presence(state?.status), reason: state?.status == .offline ? state?.reason : nil,
                sinceMs: state?.timestampMs, epoch: telemetry?.epoch, inFlight: telemetry?.inFlight,
                requestsPerSecond: telemetry?.requestsPerSecond, windowMs: telemetry?.windowMs, requests: telemetry?.requests,
                results: telemetry?.results, errors: telemetry?.errors,
                telemetryAgeMs: aggregatorTelemetry[id].map { max(0, nowMs - $0.atMs) })
        }
        let planners = Set(plannerStates.keys).union(plannerTelemetry.keys).sorted().map { id -> ClusterSnapshot.Planner in
            let state = plannerStates[id], telemetry = plannerTelemetry[id]?.message
            return ClusterSnapshot.Planner(
                id: id, status: Self.presence(state?.status), reason: state?.status == .offline ? state?.reason : nil,
                sinceMs: state?.timestampMs, epoch: telemetry?.epoch, liveDevices: telemetry?.liveDevices,
                replans: telemetry?.replans, lastSolveMs: telemetry?.lastSolveMs, lastPlanAtMs: telemetry?.lastPlanAtMs,
                telemetryAgeMs: plannerTelemetry[id].map { max(0, nowMs - $0.atMs) })
        }
        var measured: [String: MeasuredTiming] = [:]
        for received in aggregatorTelemetry.values {
            for (task, timing) in received.message.tasks ?? [:] where timing.count > (measured[task]?.count ?? -1) {
                measured[task] = timing
            }
        }
        let predicted = plan?.predictedLatencyMs ?? [:]
        let tasks = Set(predicted.keys).union(measured.keys).sorted().map { task in
            ClusterSnapshot.TaskLatency(
                task: task, predictedMs: predicted[task], measuredP50Ms: measured[task]?.p50Ms, measuredCount: measured[task]?.count)
        }
        return ClusterSnapshot(
            takenAtMs: nowMs,
            plan: plan.map {
                ClusterSnapshot.Plan(
                    epoch: $0.epoch, createdAtMs: $0.createdAtMs, algorithm: $0.algorithm, devices: $0.devices.sorted(),
                    unavailableTasks: $0.unavailableTasks ?? [:])
            },
            devices: devices, modules: modules, aggregators: aggregators, planners: planners, tasks: tasks,
            errors: ClusterSnapshot.Errors(byCode: errorCounts, recent: recentErrors), ignoredMessages: ignoredMessages)
    }

    private static func presence(_ status: DeviceState.Status?) -> ClusterSnapshot.Presence {
        switch status {
        case .online: .online
        case .offline: .offline
        case nil: .unknown
        }
    }
}
