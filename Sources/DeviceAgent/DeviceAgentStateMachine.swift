import Runtime
import S2M3Core

/// The device agent without I/O or clocks: it takes what arrives on the bus, load and run
/// completions and the time, and returns ``DeviceAgentAction``s for ``DeviceAgentService`` to carry
/// out. It holds what the device hosts (``HostingState``, the assignment being applied and the
/// newest one waiting), the invocations admitted (``InvocationQueue``: `busy` when full), repeated
/// invocations (``DuplicateFilter``), deadlines (a run past its deadline is cancelled and answered
/// `deadline-exceeded`), compute timings for telemetry, and whether the device is stopping.
public struct DeviceAgentStateMachine: Sendable {
    /// An admitted invocation, waiting or running.
    struct Job: Sendable {
        /// As received (with its chain, if any).
        var invoke: InvokeRequest
        /// The invocation being run now: `invoke`, then each chained step in turn.
        var answering: InvokeRequest
        /// The next chained step to run once `answering` has finished.
        var nextStep = 0
        /// The values chained steps read: the bundle's `~` tensors and the outputs of earlier steps.
        var values: [String: TensorBundle] = [:]
        var inputs: TensorBundle
        /// The loaded module that answers it.
        var module: String
        var receivedAtMs: Double
        var startedAtMs: Double = 0
        /// A cancel was sent (its deadline passed while it ran).
        var cancelled = false
    }

    public let configuration: DeviceAgentConfiguration
    /// Reported in the capabilities.
    public let cores: Int
    var topics: Topics { configuration.topics }
    var device: String { configuration.device }
    /// Catalog module id → the shared id of the modules with its digest (aliases answer as one).
    let sharedID: [String: String]
    /// Catalog ids, in catalog order.
    let catalogIDs: [String]

    public internal(set) var hosting: HostingState
    /// Loaded module id → the names of its call inputs.
    var loaded: [String: [String]] = [:]
    /// Loaded modules whose invocations may run as one batch (``InvocationBatch``).
    var batchable: Set<String> = []
    /// A running batch's lead ticket → the invocations riding with it, and how to split its outputs.
    var batches: [UInt64: (riders: [(ticket: UInt64, job: Job)], batch: InvocationBatch)] = [:]
    /// An invocation holding a free worker while others join its batch, until `untilMs`
    /// (``DeviceAgentConfiguration/batchWaitMs``).
    var gathering: (ticket: UInt64, job: Job, untilMs: Double)?
    /// Invoke topic → module, for the invoke topics subscribed.
    var invokeTopics: [String: String] = [:]
    var queue: InvocationQueue<UInt64>
    var waiting: [UInt64: Job] = [:]
    var running: [UInt64: Job] = [:]
    var nextTicket: UInt64 = 0
    var duplicates = DuplicateFilter<InvocationKey>()
    var timings = RecentTimings()
    /// The assignment being applied (loads one module at a time).
    var applying: Application?
    /// The newest assignment not yet applied (`.some(nil)`: the retained assignment was cleared).
    var pending: DeviceAssignment??
    /// New invocations are answered `busy`; no assignment is started.
    public private(set) var stopping = false

    /// - Parameters:
    ///   - modules: the catalog's module ids with their digests and shared ids (equal digests: one module).
    public init(configuration: DeviceAgentConfiguration, modules: [(id: String, digest: String, sharedID: String)], cores: Int) {
        self.configuration = configuration
        self.cores = cores
        catalogIDs = modules.map(\.id)
        sharedID = Dictionary(modules.map { ($0.id, $0.sharedID) }, uniquingKeysWith: { first, _ in first })
        hosting = HostingState(
            device: configuration.device, budgetBytes: configuration.memoryBudgetBytes, baseBytes: configuration.baseMemoryBytes,
            catalogDigests: Dictionary(modules.map { ($0.id, $0.digest) }, uniquingKeysWith: { first, _ in first }))
        queue = InvocationQueue(capacity: configuration.queueCapacity, workers: configuration.inferenceThreads)
    }

    /// Loaded module ids, sorted.
    public var loadedModules: [String] { loaded.keys.sorted() }
    /// Invocations waiting or running.
    public var queueDepth: Int { queue.depth }
    /// Nothing queued or running and no assignment being applied.
    public var isIdle: Bool { queue.depth == 0 && applying == nil }

    // MARK: Presence

    /// After connecting: capabilities, `online`, and the device's own subscriptions.
    public func start(nowMs: Double) -> [DeviceAgentAction] {
        announcement(nowMs: nowMs) + [
            .subscribe(topics.deviceState(device)), .subscribe(topics.deviceAssignment(device)), .subscribe(topics.plan),
        ]
    }

    /// After a lost connection the broker has published the will: announce again.
    public func reconnected(nowMs: Double) -> [DeviceAgentAction] {
        guard !stopping else { return [] }
        return [.log(.info, "reconnected; announcing again", [:])] + announcement(nowMs: nowMs)
    }

    private func announcement(nowMs: Double) -> [DeviceAgentAction] {
        let capabilities = DeviceCapabilities(
            device: device, session: configuration.session, memoryBudgetBytes: configuration.memoryBudgetBytes,
            baseMemoryBytes: configuration.baseMemoryBytes, computeGflops: configuration.computeGflops, cores: cores, sensors: configuration.sensors,
            limits: .init(queueCapacity: configuration.queueCapacity, inferenceThreads: configuration.inferenceThreads),
            softwareVersion: configuration.softwareVersion, timestampMs: Self.ms(nowMs))
        return [.publish(.capabilities(capabilities)), state(.online, nowMs: nowMs)]
    }

    func state(_ status: DeviceState.Status, reason: String? = nil, nowMs: Double) -> DeviceAgentAction {
        .publish(.state(DeviceState(device: device, status: status, session: configuration.session, timestampMs: Self.ms(nowMs), reason: reason)))
    }

    /// Stops taking work: the invoke topics are unsubscribed and new invocations answered `busy`.
    /// Once ``isIdle`` (or the drain limit passed), ``offline(nowMs:)``.
    public mutating func stop() -> [DeviceAgentAction] {
        guard !stopping else { return [] }
        stopping = true
        pending = nil
        return invokeTopics.keys.sorted().map { .unsubscribe($0) }
    }

    /// The last word before disconnecting: `offline`, reason `shutdown`.
    public func offline(nowMs: Double) -> [DeviceAgentAction] {
        var actions: [DeviceAgentAction] = []
        if queue.depth > 0 { actions.append(.log(.warning, "stopping with invocations unanswered", ["queue.depth": "\(queue.depth)"])) }
        return actions + [state(.offline, reason: DeviceState.shutdownReason, nowMs: nowMs)]
    }

    /// Telemetry is due (about once a second); nothing once stopping.
    public func telemetryDue() -> [DeviceAgentAction] { stopping ? [] : [.publishTelemetry] }

    /// The telemetry of now; the service measures the resident memory and its peak since start.
    public func telemetry(nowMs: Double, residentMemoryBytes: Int, peakResidentMemoryBytes: Int? = nil) -> DeviceTelemetry {
        var report = DeviceTelemetry(
            device: device, timestampMs: Self.ms(nowMs), queueDepth: queue.depth, queueCapacity: queue.capacity,
            residentMemoryBytes: residentMemoryBytes, loadedModules: loadedModules, modules: timings.snapshot,
            assignment: hosting.report, memoryBudgetBytes: configuration.memoryBudgetBytes,
            peakResidentMemoryBytes: peakResidentMemoryBytes.map { max($0, residentMemoryBytes) })
        report.queuedBy = queuedBy
        return report
    }

    /// The invocations waiting, gathering a batch or running (riders of a batch included), by the
    /// aggregator that sent them; nil when there are none.
    var queuedBy: [String: Int]? {
        var counts: [String: Int] = [:]
        for job in waiting.values { counts[job.invoke.replyTo, default: 0] += 1 }
        for job in running.values { counts[job.invoke.replyTo, default: 0] += 1 }
        for batch in batches.values {
            for rider in batch.riders { counts[rider.job.invoke.replyTo, default: 0] += 1 }
        }
        if let held = gathering { counts[held.job.invoke.replyTo, default: 0] += 1 }
        // The queue counts each of these once; should they ever disagree, report no more than it.
        guard !counts.isEmpty, counts.values.reduce(0, +) <= queue.depth else { return nil }
        return counts
    }

    // MARK: Messages

    /// A message on a topic the device subscribed to (its state, its assignment, the plan, an
    /// invoke topic).
    public mutating func receive(topic: String, payload: [UInt8], properties: MessageProperties, nowMs: Double) -> [DeviceAgentAction] {
        if let module = invokeModule(topic: topic) {
            return receiveInvoke(topic: topic, payload: payload, properties: properties, module: module, nowMs: nowMs)
        } else if topic == topics.deviceAssignment(device) {
            return receiveAssignment(payload)
        } else if topic == topics.deviceState(device) {
            return receiveOwnState(payload, nowMs: nowMs)
        } else if topic == topics.plan, let plan = try? PlanMessage(json: payload) {
            return [.log(.debug, "plan", ["plan.epoch": "\(plan.epoch)"])]
        }
        return []
    }

    /// Re-announces `online` when a will (or shutdown) of another session of this device lands
    /// after this session's `online` (topics.md, last will), and when an `offline` of this very
    /// session arrives while it runs (a will of a connection it has since replaced, or a forgery
    /// on a broker without ACLs): a live device is never left evicted.
    private func receiveOwnState(_ payload: [UInt8], nowMs: Double) -> [DeviceAgentAction] {
        guard !payload.isEmpty, !stopping else { return [] }
        guard let received = try? DeviceState(json: payload) else {
            return [.log(.warning, "ignoring an invalid state", ["mqtt.topic": "\(topics.deviceState(device))"])]
        }
        guard received.session != configuration.session else {
            guard received.status == .offline else { return [] }
            return [
                .log(.warning, "offline state of this running session; announcing online again", ["state.reason": "\(received.reason ?? "-")"]),
                state(.online, nowMs: nowMs),
            ]
        }
        switch received.status {
        case .offline:
            return [
                .log(.info, "offline state of another session; announcing online again", ["other.session": "\(received.session)"]),
                state(.online, nowMs: nowMs),
            ]
        case .online:
            return [.log(.warning, "another agent claims this device id", ["other.session": "\(received.session)"])]
        }
    }

    /// Whole Unix ms, as messages carry them.
    static func ms(_ nowMs: Double) -> Int { Int(nowMs.rounded(.down)) }
}

/// A repeated (request id, node, attempt) is the same invocation (QoS 1 may deliver twice).
struct InvocationKey: Hashable, Sendable {
    var requestID: String
    var node: String
    var attempt: Int
}
