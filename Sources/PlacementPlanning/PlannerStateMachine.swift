import S2M3Core
import Foundation

/// The planner's decisions, without I/O: it folds device and plan events into the set of live
/// devices and, when that set changes, solves the placement again from the previous plan (modules
/// whose device remains stay put) and returns the plan and assignments to publish.
///
/// The modules and tasks come from a fixed ``PlacementInstance`` (its devices are ignored); the
/// devices are the ones whose latest state is `online` and whose capabilities belong to the same
/// session, with their memory budget and GFLOP/s.
///
/// Without learning (``LearningPolicy/enabled`` false), telemetry calibrates a device's speed: the
/// median over its modules (with enough samples) of the module's GFLOP divided by its measured p50. Only a drift past ``DriftPolicy/threshold`` from the
/// speed in use changes it (so noise never re-plans), and at most once per
/// ``DriftPolicy/minimumIntervalMs`` per device (so alternating reports cannot flap the plan).
///
/// Telemetry also teaches the cost model (``LearnedCosts``): each module's compute from the times
/// devices measure, the link latency from the transfers aggregators measure. When the learned
/// figures move a task's prediction past ``LearningPolicy`` (at most once per its interval), the planner plans again:
/// it keeps the placement, with new predictions, unless a fresh solve beats it by
/// ``LearningPolicy/minimumGain`` (moves counted in the plan).
public struct PlannerStateMachine: Sendable {
    public enum Event: Sendable, Hashable {
        case state(DeviceState)
        case capabilities(DeviceCapabilities)
        case telemetry(DeviceTelemetry)
        /// An aggregator's telemetry (its measured transfers teach the link latency).
        case aggregatorTelemetry(AggregatorTelemetry)
        /// The retained plan read back from the broker (e.g. after a planner restart).
        case retainedPlan(PlanMessage)
        /// A device's retained state was cleared (empty retained payload on `devices/{device}/state`):
        /// the device is forgotten, so a ghost announced by retained messages leaves the plan.
        case stateCleared(device: String)

        /// The device a device event names in its payload (nil for the plan).
        public var device: String? {
            switch self {
            case .state(let state): state.device
            case .capabilities(let caps): caps.device
            case .telemetry(let report): report.device
            case .stateCleared(let device): device
            case .retainedPlan, .aggregatorTelemetry: nil
            }
        }
    }

    public enum Action: Sendable, Hashable {
        case publishPlan(PlanMessage)
        case publishAssignment(DeviceAssignment)
        /// Remove the retained assignment of a device the new plan no longer has (empty retained payload).
        case clearAssignment(device: String)
    }

    /// One live device as the placement sees it.
    public struct LiveDevice: Sendable, Hashable {
        public var id: String
        public var memoryBytes: Int
        public var gflops: Double
    }

    /// When measured compute speed replaces the announced one.
    public struct DriftPolicy: Sendable, Hashable {
        /// Relative change of a device's speed that re-plans (0.5: 50 % faster or slower).
        public var threshold = 0.5
        /// Invocations a module needs in a report before its timing counts.
        public var minimumSamples = 5
        /// At most one recalibration per device in this interval (telemetry clock).
        public var minimumIntervalMs = 30_000
        public init() {}
    }

    /// When measured costs re-plan.
    public struct LearningPolicy: Sendable, Hashable {
        /// Off: the plan keeps the catalog's figures and calibrates each device's speed instead.
        public var enabled = true
        /// Relative change of a task's predicted latency (the current placement evaluated with
        /// the learned costs against the plan's prediction) that re-plans.
        public var threshold = 0.15
        /// …and by at least this much, ms (noise on fast tasks never re-plans).
        public var minimumMs = 2.0
        /// At most one re-plan for costs in this interval (telemetry clock).
        public var minimumIntervalMs = 30_000
        /// A fresh placement replaces the current one only if its objective is lower by this
        /// fraction (else the modules stay and only the predictions change).
        public var minimumGain = 0.2
        public init() {}
    }

    public let instance: PlacementInstance
    public let algorithm: PlacementAlgorithm
    /// Module id → catalog digest, sent in assignments (modules missing here get a stand-in digest).
    public let digests: [String: String]
    public var drift = DriftPolicy()
    public var learning = LearningPolicy()
    /// The costs learned from telemetry so far, and those the current plan was made with.
    public private(set) var learned = LearnedCosts()
    public private(set) var plannedCosts = LearnedCosts()
    /// Telemetry clock: the newest report, and the last plan made with learned costs.
    private var latestTelemetryMs = 0
    private var lastCostPlanMs: Int?
    /// Whether the current plan's predictions, evaluated with the learned costs, moved past the
    /// policy: checked at most once per second of telemetry (``checkCosts()``), not per message.
    private var costsMoved = false
    private var lastCostCheckMs: Int?
    /// Speeds measured from telemetry that replaced the announced ones, by device.
    public private(set) var calibratedGflops: [String: Double] = [:]
    private var lastCalibrationMs: [String: Int] = [:]
    /// Link assumed for every device (capabilities do not measure it yet).
    public let link: PlacementLink

    private var states: [String: DeviceState] = [:]
    private var capabilities: [String: DeviceCapabilities] = [:]
    public private(set) var telemetry: [String: DeviceTelemetry] = [:]
    /// The last plan published (by this run or read back retained).
    public private(set) var currentPlan: PlanMessage?
    /// The device set `currentPlan` was made for in this run (nil: none yet).
    private var plannedDevices: [LiveDevice]?

    public init(
        instance: PlacementInstance, algorithm: PlacementAlgorithm = .auto, link: PlacementLink? = nil,
        digests: [String: String] = [:]
    ) {
        self.instance = instance
        self.algorithm = algorithm
        self.digests = digests
        self.link = link ?? instance.devices.first?.link ?? PlacementLink(bandwidthMbps: 1000, latencyMs: 1)
    }

    /// Records `event`, which arrived on a topic of `device` (`devices/{device}/…`), only when the
    /// payload names that same device: MQTT does not say who published, only the topic is proven
    /// (the secure broker lets only `{device}` write it). Returns nil, recording nothing, for an
    /// event naming another device; else what ``handle(_:)`` returns.
    public mutating func handle(_ event: Event, fromTopicOf device: String) -> Bool? {
        guard event.device == device else { return nil }
        return handle(event)
    }

    /// Records `event`; returns whether the live device set now differs from the planned one.
    @discardableResult
    public mutating func handle(_ event: Event) -> Bool {
        switch event {
        case .state(let state):
            if state.status == .offline, let current = states[state.device], current.session != state.session {
                break  // a late will of an earlier run must not take the current one offline
            }
            states[state.device] = state
        case .capabilities(let caps):
            if capabilities[caps.device]?.session != caps.session {
                calibratedGflops[caps.device] = nil
                lastCalibrationMs[caps.device] = nil
                learned.forget(device: caps.device)
            }
            capabilities[caps.device] = caps
        case .telemetry(let report):
            telemetry[report.device] = report
            // Learning measures every module on every device, which calibrating a device's one
            // speed only approximates: with both, each would re-plan for the other's change.
            if !learning.enabled { calibrate(with: report) }
            if let caps = capabilities[report.device] {
                learned.learn(
                    from: report, gflops: calibratedGflops[report.device] ?? caps.computeGflops, known: moduleIDs,
                    minimumSamples: drift.minimumSamples)
            }
            latestTelemetryMs = max(latestTelemetryMs, report.timestampMs)
            checkCosts()
        case .aggregatorTelemetry(let report):
            learned.learn(from: report, minimumSamples: drift.minimumSamples)
            latestTelemetryMs = max(latestTelemetryMs, report.timestampMs)
            checkCosts()
        case .retainedPlan(let plan):
            if currentPlan == nil || plan.epoch > currentPlan!.epoch { currentPlan = plan }
        case .stateCleared(let device):
            states[device] = nil
            capabilities[device] = nil
            telemetry[device] = nil
            calibratedGflops[device] = nil
            lastCalibrationMs[device] = nil
            learned.forget(device: device)
        }
        return needsPlan
    }

    /// The devices online now whose capabilities match their session, sorted by id.
    public var liveDevices: [LiveDevice] {
        states.values.filter { $0.status == .online }.compactMap { state -> LiveDevice? in
            guard let caps = capabilities[state.device], caps.session == state.session else { return nil }
            return LiveDevice(
                id: state.device, memoryBytes: caps.moduleMemoryBytes,
                gflops: calibratedGflops[state.device] ?? caps.computeGflops)
        }.sorted { $0.id < $1.id }
    }

    /// Whether ``plan(nowMs:)`` would publish something.
    public var needsPlan: Bool {
        guard let planned = plannedDevices else {
            // First decision of this run: a retained plan for exactly the live devices is adopted.
            return !(currentPlan.map { Set($0.devices) == Set(liveDevices.map(\.id)) } ?? false)
        }
        return planned != liveDevices || costsDue
    }

    /// Whether the current plan's predictions, evaluated with the costs learned since, moved past
    /// the policy on some task, and the policy's interval passed.
    public var costsDue: Bool {
        guard learning.enabled, costsMoved else { return false }
        if let last = lastCostPlanMs, latestTelemetryMs - last < learning.minimumIntervalMs { return false }
        return true
    }

    /// Evaluates the current placement with the learned costs (a cost-model pass), at most once
    /// per second of telemetry clock, and records whether a task's prediction moved past the policy.
    private mutating func checkCosts() {
        guard learning.enabled else { return }
        if let last = lastCostCheckMs, latestTelemetryMs - last < 1_000 { return }
        lastCostCheckMs = latestTelemetryMs
        guard let planned = plannedDevices, !planned.isEmpty, learned != plannedCosts, let plan = currentPlan,
            !plan.predictedLatencyMs.isEmpty, let now = predictions(of: plan, on: planned)
        else {
            costsMoved = false
            return
        }
        costsMoved = plan.predictedLatencyMs.contains { task, before in
            guard let after = now[task] else { return false }
            let change = abs(after - before)
            return change > learning.threshold * before && change > learning.minimumMs
        }
    }

    /// The task latencies (ms) the cost model predicts for `plan`'s placement on `devices` with the
    /// learned costs; nil when it cannot evaluate it.
    func predictions(of plan: PlanMessage, on devices: [LiveDevice]) -> [String: Double]? {
        var problem = instance
        problem.tasks = problem.tasks.filter { plan.predictedLatencyMs[$0.id] != nil }
        problem.devices = devices.map { PlacementDevice(id: $0.id, memoryBytes: $0.memoryBytes, gflops: $0.gflops, link: link) }
        problem = learned.apply(to: problem)
        guard let model = try? CostModel(problem), let evaluation = try? model.evaluate(hosts: plan.placement) else { return nil }
        return evaluation.taskLatencySeconds.mapValues { $0 * 1000 }
    }

    private var moduleIDs: Set<String> { Set(instance.modules.map(\.id)) }

    /// One planning decision between ``beginPlan()`` and ``finishPlan(_:_:nowMs:)``: what the
    /// solve needs, so that it can run away from the machine (off the cooperative pool, with a
    /// deadline) while events keep arriving.
    public struct PlanJob: Sendable {
        public let epoch: Int
        public let live: [LiveDevice]
        /// Devices of the previous plan that are no longer live (their assignments are cleared).
        public let gone: [String]
        let problem: PlacementInstance
        let algorithm: PlacementAlgorithm
        let previousHosts: [String: [String]]?
        /// Planned again for learned costs on the same devices: the placement stays unless a
        /// fresh solve is better by `minimumGain`.
        public let costDriven: Bool
        let minimumGain: Double
        /// `problem` at the declared task rates, when measured ones replaced them: a load that
        /// leaves a task unserved (no placement with one copy of each module carries it) is
        /// planned as if it were light rather than drop the task.
        let lightProblem: PlacementInstance?

        /// The placement serving as many tasks as fit (``solveServingMost``), every solve ending by
        /// `deadline`. Pure and possibly long: run it off the cooperative pool.
        public func solve(deadline: ContinuousClock.Instant? = nil) -> Solved {
            guard !live.isEmpty else {
                return Solved(placement: nil, unavailable: Dictionary(uniqueKeysWithValues: problem.tasks.map { ($0.id, "no device is online") }))
            }
            var options = PlacementOptions()
            options.deadline = deadline
            let solved = solve(problem, options: options)
            if !solved.unavailable.isEmpty, let lightProblem {
                let light = solve(lightProblem, options: options)
                if light.placement != nil, light.unavailable.count < solved.unavailable.count { return light }
            }
            return solved
        }

        /// A fresh solve's `placement` moved as little as it can be from the previous hosts: alike
        /// devices renamed to keep what they held, then modules whose place the objective hardly
        /// depends on put back (``DeviceRelabeling``).
        private func keepingAlikeDevices(_ placement: Placement, of problem: PlacementInstance, deadline: ContinuousClock.Instant?) -> Placement {
            guard let previousHosts else { return placement }
            let renamed = DeviceRelabeling.relabeled(placement, toKeep: previousHosts, devices: problem.devices)
            return DeviceRelabeling.movedBack(renamed, toward: previousHosts, instance: problem, deadline: deadline)
        }

        private func solve(_ problem: PlacementInstance, options: PlacementOptions) -> Solved {
            let kept = PlannerStateMachine.solveServingMost(problem, algorithm: algorithm, previousHosts: previousHosts, options: options)
            if costDriven {
                let fresh = PlannerStateMachine.solveServingMost(problem, algorithm: algorithm, previousHosts: nil, options: options)
                // Serving a task matters more than not moving a module (a fresh solve may add
                // the replicas a measured load needs; a kept placement adds none).
                if let placement = fresh.placement, fresh.unavailable.count < kept.unavailable.count {
                    return Solved(placement: keepingAlikeDevices(placement, of: problem, deadline: options.deadline), unavailable: fresh.unavailable)
                }
                guard let current = kept.placement, kept.unavailable.isEmpty else {
                    return Solved(placement: kept.placement, unavailable: kept.unavailable)
                }
                if let better = fresh.placement, fresh.unavailable.isEmpty,
                    better.objectiveSeconds < current.objectiveSeconds * (1 - minimumGain)
                {
                    return Solved(placement: keepingAlikeDevices(better, of: problem, deadline: options.deadline), unavailable: [:])
                }
                // Replicas no task routes to any more (the load that made them pay has fallen)
                // are unloaded; every module keeps at least one host.
                let routed = PlannerStateMachine.routedHosts(current, problem: problem)
                if routed != current.hosts {
                    let pruned = PlannerStateMachine.solveServingMost(problem, algorithm: algorithm, previousHosts: routed, options: options)
                    if let placement = pruned.placement, pruned.unavailable.isEmpty { return Solved(placement: placement, unavailable: [:]) }
                }
            }
            return Solved(placement: kept.placement, unavailable: kept.unavailable)
        }
    }

    /// The outcome of ``PlanJob/solve(deadline:)``.
    public struct Solved: Sendable {
        public let placement: Placement?
        public let unavailable: [String: String]
    }

    /// Plans for the live devices if they changed since the last plan; returns what to publish
    /// (the plan first, then one assignment per live device, then a clear per device that left),
    /// or nothing. A retained plan whose devices are exactly the live ones is adopted without a
    /// new epoch. ``beginPlan()``, ``PlanJob/solve(deadline:)`` and ``finishPlan(_:_:nowMs:)`` in one.
    public mutating func plan(nowMs: Int, deadline: ContinuousClock.Instant? = nil) -> [Action] {
        guard let job = beginPlan() else { return [] }
        return finishPlan(job, job.solve(deadline: deadline), nowMs: nowMs)
    }

    /// Starts a decision for the live devices: nil when there is nothing to publish (unchanged, or
    /// a retained plan for exactly these devices adopted); else the job to solve. The live set
    /// counts as planned from here: a change while the job is solved makes ``needsPlan`` true again.
    public mutating func beginPlan() -> PlanJob? {
        let live = liveDevices
        if plannedDevices == nil, let retained = currentPlan, Set(retained.devices) == Set(live.map(\.id)) {
            plannedDevices = live
            return nil
        }
        let costDriven = plannedDevices == live
        guard !costDriven || costsDue else { return nil }
        plannedDevices = live
        plannedCosts = learned
        costsMoved = false
        if learned != LearnedCosts() { lastCostPlanMs = latestTelemetryMs }
        let liveIDs = Set(live.map(\.id))
        let gone = (currentPlan?.devices ?? []).filter { !liveIDs.contains($0) }
        // Decoded plans hold at most ValueRange.epoch's bound (2^53), so this cannot overflow; a
        // plan at the bound itself (never reached by re-planning) is followed by the same epoch.
        let epoch = min(currentPlan?.epoch ?? 0, ValueRange.epoch.upperBound - 1) + 1
        var problem = instance
        problem.devices = live.map { PlacementDevice(id: $0.id, memoryBytes: $0.memoryBytes, gflops: $0.gflops, link: link) }
        let lightProblem = learned.taskRates.isEmpty ? nil : learned.apply(to: problem, rates: false)
        problem = learned.apply(to: problem)
        let previousHosts = currentPlan.map { plan in
            plan.placement.mapValues { $0.filter(liveIDs.contains) }.filter { !$0.value.isEmpty }
        }
        return PlanJob(
            epoch: epoch, live: live, gone: gone, problem: problem, algorithm: algorithm, previousHosts: previousHosts,
            costDriven: costDriven, minimumGain: learning.minimumGain, lightProblem: lightProblem)
    }

    /// The plan and assignments of a solved job, which becomes the current plan.
    public mutating func finishPlan(_ job: PlanJob, _ solved: Solved, nowMs: Int) -> [Action] {
        let plan = makePlan(job, solved, nowMs: nowMs)
        currentPlan = plan
        var actions: [Action] = [.publishPlan(plan)]
        for device in job.live {
            actions.append(.publishAssignment(assignment(of: device.id, in: plan, nowMs: nowMs)))
        }
        actions += job.gone.map { .clearAssignment(device: $0) }
        return actions
    }

    /// What this planner owns on the broker, to publish again (retained) after a reconnect: a
    /// restarted broker may have lost its retained messages. The current plan unchanged (same
    /// epoch, so readers that kept it ignore it) and the same-epoch assignment of each of its
    /// devices; nothing before the first plan.
    public func republication(nowMs: Int) -> [Action] {
        guard let plan = currentPlan else { return [] }
        return [.publishPlan(plan)] + plan.devices.map { .publishAssignment(assignment(of: $0, in: plan, nowMs: nowMs)) }
    }

    private func assignment(of device: String, in plan: PlanMessage, nowMs: Int) -> DeviceAssignment {
        let hosted = plan.placement.filter { $0.value.contains(device) }.keys.sorted().map { module in
            let spec = instance.modules.first { $0.id == module }
            return DeviceAssignment.HostedModule(
                module: module, digest: digests[module] ?? Self.digest(of: spec), memoryBytes: spec?.memoryBytes ?? 0)
        }
        return DeviceAssignment(epoch: plan.epoch, device: device, modules: hosted, timestampMs: nowMs)
    }

    private func makePlan(_ job: PlanJob, _ solved: Solved, nowMs: Int) -> PlanMessage {
        guard let placement = solved.placement else {
            return PlanMessage(
                epoch: job.epoch, createdAtMs: nowMs, algorithm: algorithm.rawValue, devices: job.live.map(\.id), placement: [:],
                routes: [:], predictedLatencyMs: [:], objectiveMs: 0, provenOptimal: false,
                previousEpoch: previousEpoch(before: job.epoch), unavailableTasks: solved.unavailable)
        }
        let moves = Self.moves(from: job.previousHosts, to: placement.hosts)
        return PlanMessage(
            epoch: job.epoch, createdAtMs: nowMs, algorithm: placement.algorithm.rawValue, devices: job.live.map(\.id),
            placement: placement.hosts, routes: placement.routes.mapValues { $0.mapValues { [$0] } },
            // Held to the plan's own range, so an absurdly slow device set still gets a publishable plan.
            predictedLatencyMs: placement.taskLatencySeconds.mapValues { min($0 * 1000, ValueRange.durationMs.upperBound) },
            objectiveMs: min(placement.objectiveSeconds * 1000, ValueRange.durationMs.upperBound), provenOptimal: placement.provenOptimal,
            previousEpoch: previousEpoch(before: job.epoch), moves: moves,
            unavailableTasks: solved.unavailable.isEmpty ? nil : solved.unavailable)
    }

    /// The current plan's epoch when it is below `epoch` (it is not only at the epoch bound).
    private func previousEpoch(before epoch: Int) -> Int? {
        currentPlan.flatMap { $0.epoch < epoch ? $0.epoch : nil }
    }

    /// Module copies to load and to unload going from `previous` (hosts on the live devices; nil
    /// for the first plan, which lists no moves) to `hosts`, loads first, each sorted.
    static func moves(from previous: [String: [String]]?, to hosts: [String: [String]]) -> [PlanMessage.Move] {
        guard let previous else { return [] }
        func copies(_ placement: [String: [String]]) -> Set<Placement.ModuleOnDevice> {
            Set(placement.flatMap { module, devices in devices.map { Placement.ModuleOnDevice(module: module, device: $0) } })
        }
        let before = copies(previous)
        let after = copies(hosts)
        return after.subtracting(before).sorted().map { PlanMessage.Move(module: $0.module, device: $0.device, action: .load) }
            + before.subtracting(after).sorted().map { PlanMessage.Move(module: $0.module, device: $0.device, action: .unload) }
    }

    /// Solves for every task (keeping modules where they were, else afresh); when that fails,
    /// serves as many as fit: tasks are added one at a time, those needing the least module memory
    /// first, and a task is kept only if the tasks kept so far still have a placement with it. The
    /// rest are unavailable, with the reason. `placement` is nil when no task fits.
    /// `placement`'s hosts without the replicas (second and later hosts) that no task's route uses.
    static func routedHosts(_ placement: Placement, problem: PlacementInstance) -> [String: [String]] {
        var modules: [String: [String: String]] = [:]  // task → node → module
        for task in problem.tasks { modules[task.id] = Dictionary(task.graph.nodes.map { ($0.id, $0.module) }, uniquingKeysWith: { a, _ in a }) }
        var used: [String: Set<String>] = [:]
        for (task, nodes) in placement.routes {
            for (node, device) in nodes {
                if let module = modules[task]?[node] { used[module, default: []].insert(device) }
            }
        }
        var hosts = placement.hosts
        for (module, devices) in placement.hosts where devices.count > 1 {
            let routed = devices.filter { used[module]?.contains($0) == true }
            hosts[module] = routed.isEmpty ? [devices[0]] : routed
        }
        return hosts
    }

    static func solveServingMost(
        _ problem: PlacementInstance, algorithm: PlacementAlgorithm, previousHosts: [String: [String]]?,
        options: PlacementOptions = PlacementOptions()
    ) -> (placement: Placement?, unavailable: [String: String]) {
        // Keeping modules where they were first; if that cannot serve the tasks, a fresh solve
        // (more moves, but serving a task matters more than not moving a module).
        func solve(_ tasks: [PlacementTask]) throws(PlacementError) -> Placement {
            var reduced = problem
            reduced.tasks = tasks
            let used = Set(tasks.flatMap { $0.graph.nodes.map(\.module) })
            guard let kept = previousHosts?.filter({ used.contains($0.key) }), !kept.isEmpty else {
                return try Placement.solve(reduced, algorithm: algorithm, previousHosts: previousHosts == nil ? nil : [:], options: options).placement
            }
            do throws(PlacementError) {
                return try Placement.solve(reduced, algorithm: algorithm, previousHosts: kept, options: options).placement
            } catch {
                return try Placement.solve(reduced, algorithm: algorithm, previousHosts: [:], options: options).placement
            }
        }
        let fullError: PlacementError
        do throws(PlacementError) {
            return (try solve(problem.tasks), [:])
        } catch {
            fullError = error
        }
        let memory = Dictionary(problem.modules.map { ($0.id, $0.memoryBytes) }, uniquingKeysWith: { first, _ in first })
        let largestDevice = problem.devices.map(\.memoryBytes).max() ?? 0
        func need(_ task: PlacementTask) -> Int { Set(task.graph.nodes.map(\.module)).reduce(0) { $0 + (memory[$1] ?? 0) } }
        let order = problem.tasks.enumerated().sorted { (need($0.element), $0.offset) < (need($1.element), $1.offset) }.map(\.element)
        var kept: [PlacementTask] = []
        var best: Placement?
        var unavailable: [String: String] = [:]
        for task in order {
            if let tooLarge = Set(task.graph.nodes.map(\.module)).sorted().first(where: { (memory[$0] ?? 0) > largestDevice }) {
                unavailable[task.id] = "\(tooLarge) (\(memory[tooLarge] ?? 0) bytes) fits on no online device"
                continue
            }
            do throws(PlacementError) {
                best = try solve(kept + [task])
                kept.append(task)
            } catch {
                unavailable[task.id] = "its modules do not fit on the online devices next to the other tasks: \(error.message)"
            }
        }
        guard let best else {
            return (nil, Dictionary(uniqueKeysWithValues: problem.tasks.map { ($0.id, unavailable[$0.id] ?? fullError.message) }))
        }
        return (best, unavailable)
    }

    /// Replaces the device's speed by the measured one when it drifted past the policy's threshold.
    private mutating func calibrate(with report: DeviceTelemetry) {
        guard let caps = capabilities[report.device] else { return }
        let speeds = report.modules.compactMap { id, timing -> Double? in
            guard timing.count >= drift.minimumSamples, timing.p50Ms > 0,
                  let module = instance.modules.first(where: { $0.id == id }), module.gflop > 0
            else { return nil }
            return module.gflop / (timing.p50Ms / 1000)
        }.sorted()
        guard !speeds.isEmpty else { return }
        let measured = speeds[speeds.count / 2]
        // A tiny p50 makes an absurd (even infinite) speed: only plausible speeds replace the announced one.
        guard ValueRange.gflops.contains(measured) else { return }
        let current = calibratedGflops[report.device] ?? caps.computeGflops
        guard abs(measured / current - 1) > drift.threshold else { return }
        if let last = lastCalibrationMs[report.device], report.timestampMs - last < drift.minimumIntervalMs { return }
        calibratedGflops[report.device] = measured
        lastCalibrationMs[report.device] = report.timestampMs
    }

    /// Stand-in digest until the module catalog exists: FNV-1a 64 of the module's id, memory,
    /// compute and output size as declared in the instance.
    static func digest(of module: PlacementModule?) -> String {
        guard let module else { return "unknown" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(module.id)|\(module.memoryBytes)|\(module.gflop)|\(module.outputBytes)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return "instance-fnv1a64:" + String(hash, radix: 16)
    }
}
