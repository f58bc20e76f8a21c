import S2M3Core

/// What an aggregator knows about where modules run, and how it picks one replica per invocation.
/// Pure: the service feeds it the retained plan, device states and telemetry, and tells it about
/// every invocation it sends and every one that ends.
///
/// A replica's predicted finish time is `others × p50 + own + p50`:
/// - `others`: the invocations queued there by other aggregators (the device's telemetry counts
///   them by sender, `queuedBy`), each at the module's measured median on that device;
/// - `own`: this aggregator's unanswered work there, each invocation (or chain) at its own modules'
///   medians when it was sent;
/// - then the invocation itself.
///
/// Two earlier rules loaded one replica and left the other idle (docs/benchmarks.md, "Where the
/// CPU goes under load"): counting every queued invocation at the chosen module's time made a
/// device with many short jobs look as busy as one with as many long ones; and counting the
/// reported queue, up to a second old, beside this aggregator's own count took its own past work
/// for other aggregators' (8 reported against 2 of its own now).
///
/// Without a measurement the module's median on other devices stands in, else
/// ``defaultModuleMs``. Ties go to the plan's order (its best candidate first).
public struct ReplicaChooser: Sendable {
    /// The newest plan (highest epoch) seen.
    public private(set) var plan: PlanMessage?
    /// Latest telemetry per device.
    public private(set) var telemetry: [String: DeviceTelemetry] = [:]
    /// Invocations sent by this aggregator and not yet answered (or given up), per device.
    public private(set) var outstanding: [String: Int] = [:]
    /// The predicted compute of those invocations, ms, per device.
    public private(set) var outstandingWorkMs: [String: Double] = [:]
    /// Latest state per device.
    private var states: [String: DeviceState] = [:]
    /// When this aggregator last heard each device's telemetry (its own clock, Unix ms).
    private var heardAtMs: [String: Double] = [:]
    /// Devices whose telemetry stopped for longer than ``telemetrySilenceMs`` while they are still
    /// online for the broker (hung, e.g. SIGSTOP, or cut off): routed around while another replica
    /// is live, until they report again.
    public private(set) var suspected: Set<String> = []
    /// Silence after which a device that has sent telemetry is suspected, ms (devices report
    /// about once a second: two intervals by default).
    public var telemetrySilenceMs: Double = 2_000
    /// This aggregator's id: its own part of a device's `queuedBy` is already in ``outstanding``.
    public var aggregator: String?
    /// Assumed compute time of a module nobody has measured yet, ms.
    public var defaultModuleMs: Double
    /// Added to the prediction of a device that has not reported the module loaded, ms.
    public var notLoadedPenaltyMs: Double

    public init(defaultModuleMs: Double = 20, notLoadedPenaltyMs: Double = 1_000) {
        self.defaultModuleMs = defaultModuleMs
        self.notLoadedPenaltyMs = notLoadedPenaltyMs
    }

    /// Adopts `plan` when its epoch is higher than the current one; returns whether it did.
    @discardableResult
    public mutating func apply(plan newPlan: PlanMessage) -> Bool {
        if let plan, plan.epoch >= newPlan.epoch { return false }
        plan = newPlan
        return true
    }

    /// Records a device state; returns true when the device has just gone offline. As the planner
    /// does, an `offline` of another session than the one known (a late will of an earlier run) is
    /// ignored; otherwise the latest message wins (a will carries the time it was registered, so it
    /// is older than its own session's `online`).
    @discardableResult
    public mutating func apply(state: DeviceState) -> Bool {
        if state.status == .offline, let known = states[state.device], known.session != state.session { return false }
        let wasOnline = isOnline(state.device)
        states[state.device] = state
        return wasOnline && state.status == .offline
    }

    public mutating func apply(telemetry report: DeviceTelemetry) {
        if let known = telemetry[report.device], known.timestampMs > report.timestampMs { return }
        telemetry[report.device] = report
    }

    /// Telemetry heard at `nowMs`: also clears a suspicion of its device.
    public mutating func apply(telemetry report: DeviceTelemetry, nowMs: Double) {
        apply(telemetry: report)
        heardAtMs[report.device] = nowMs
        suspected.remove(report.device)
    }

    /// Devices that have just become suspected: online, heard from before, silent for longer than
    /// ``telemetrySilenceMs`` at `nowMs`.
    public mutating func checkSilence(nowMs: Double) -> [String] {
        var newly: [String] = []
        for (device, heard) in heardAtMs.sorted(by: { $0.key < $1.key })
        where nowMs - heard > telemetrySilenceMs && isOnline(device) && !suspected.contains(device) {
            suspected.insert(device)
            newly.append(device)
        }
        return newly
    }

    /// Devices never heard of are taken to be online (the plan was made from online devices).
    public func isOnline(_ device: String) -> Bool { states[device]?.status != .offline }

    /// Online hosts of `module` in the current plan, in the plan's order; suspected ones only when
    /// no other is left (a silent device may only be slow).
    public func replicas(of module: String) -> [String] {
        let online = (plan?.placement[module] ?? []).filter(isOnline)
        let live = online.filter { !suspected.contains($0) }
        return live.isEmpty ? online : live
    }

    /// Measured (or assumed) compute time of `module` on `device`, ms.
    public func moduleMs(_ module: String, on device: String) -> Double {
        if let measured = telemetry[device]?.modules[module], measured.count > 0 { return measured.p50Ms }
        let others = telemetry.values.compactMap { $0.modules[module] }.filter { $0.count > 0 }.map(\.p50Ms)
        return others.isEmpty ? defaultModuleMs : others.reduce(0, +) / Double(others.count)
    }

    /// Predicted time until one more invocation of `module` on `device` would finish, ms. A device
    /// whose latest telemetry does not list the module as loaded (it is still loading it after a
    /// re-plan) gets ``notLoadedPenaltyMs`` added, so replicas that have it go first.
    public func predictedFinishMs(_ module: String, on device: String) -> Double {
        let each = moduleMs(module, on: device)
        return Double(queuedByOthers(device)) * each + (outstandingWorkMs[device] ?? 0) + each
            + (isLoaded(module, on: device) ? 0 : notLoadedPenaltyMs)
    }

    /// Invocations other aggregators have queued on `device`, from its latest telemetry; from a
    /// device that does not count by sender, its queue less this aggregator's unanswered ones.
    public func queuedByOthers(_ device: String) -> Int {
        guard let report = telemetry[device] else { return 0 }
        guard let byAggregator = report.queuedBy else { return max(0, report.queueDepth - (outstanding[device] ?? 0)) }
        return byAggregator.reduce(0) { $0 + ($1.key == aggregator ? 0 : $1.value) }
    }

    /// The latest time by which a chain of modules run in one invocation (topics.md, "Chains")
    /// should have finished on `device`: each invocation queued ahead is taken to be as long as
    /// the chain or the slowest module the device has measured, whichever is longer (a queue of
    /// other tasks' chains can hold far longer work than this one).
    public func latestFinishMs(chain modules: [String], on device: String) -> Double {
        let queued = (telemetry[device]?.queueDepth ?? 0) + (outstanding[device] ?? 0)
        let chain = modules.reduce(0) { $0 + moduleMs($1, on: device) }
        let slowest = telemetry[device]?.modules.values.filter { $0.count > 0 }.map(\.p50Ms).max() ?? 0
        let loading = modules.contains { !isLoaded($0, on: device) }
        return Double(queued) * max(chain, slowest) + chain + (loading ? notLoadedPenaltyMs : 0)
    }

    /// Whether this aggregator's unanswered invocations on `device` are below the queue capacity it
    /// reported (a device that has not reported has room): one more would not be answered `busy`
    /// for want of room from this aggregator's own work.
    public func hasRoom(_ device: String) -> Bool {
        guard let capacity = telemetry[device]?.queueCapacity else { return true }
        return (outstanding[device] ?? 0) < capacity
    }

    /// The online replica of `module` with room (``hasRoom(_:)``) and the earliest predicted
    /// finish, skipping `excluded`; nil when there is none.
    public func choose(module: String, excluding excluded: Set<String> = []) -> String? {
        var best: (device: String, finish: Double)?
        for device in replicas(of: module) where !excluded.contains(device) && hasRoom(device) {
            let finish = predictedFinishMs(module, on: device)
            if best == nil || finish < best!.finish { best = (device, finish) }
        }
        return best?.device
    }

    /// Whether `device`'s latest telemetry lists `module` as loaded (true before it has reported).
    public func isLoaded(_ module: String, on device: String) -> Bool {
        telemetry[device].map { $0.loadedModules.contains(module) } ?? true
    }

    /// An invocation predicted to compute for `workMs` (a chain: its modules together) was sent to `device`.
    public mutating func dispatched(to device: String, workMs: Double) {
        outstanding[device, default: 0] += 1
        outstandingWorkMs[device, default: 0] += max(0, workMs)
    }

    /// An invocation sent to `device` with `workMs` (as given to ``dispatched(to:workMs:)``) was
    /// answered, timed out or abandoned.
    public mutating func released(from device: String, workMs: Double) {
        guard let count = outstanding[device] else { return }
        if count > 1 {
            outstanding[device] = count - 1
            outstandingWorkMs[device] = max(0, (outstandingWorkMs[device] ?? 0) - max(0, workMs))
        } else {
            outstanding[device] = nil
            outstandingWorkMs[device] = nil
        }
    }
}
