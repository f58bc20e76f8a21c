import Catalog
import S2M3Core

/// How many requests an aggregator takes at once (docs/aggregator.md, "Admission"). A request
/// past a limit is answered `overloaded` at once, with a `retryAfterMs` hint, instead of waiting
/// for a busy device until its deadline.
public struct AdmissionConfiguration: Sendable, Hashable {
    /// Off: every well-formed request is taken (only ``LimitsConfiguration/maxInFlightBytes``
    /// bounds them); the benchmark's baseline.
    public var enabled = true
    /// Requests in flight over every task; nil: what the plan's devices can queue (the sum of their
    /// queue capacities).
    public var maxInFlight: Int?
    /// Requests in flight of one task, overriding the limit derived from the plan.
    public var maxInFlightPerTask: [String: Int] = [:]
    /// Tasks admitted first: the others may fill only `1 - priorityReserve` of the total limit,
    /// so these still get in when the rest have filled the aggregator.
    public var priorityTasks: [String] = []
    /// Share of the total limit held for ``priorityTasks`` (when there are any).
    public var priorityReserve = 0.25
    /// Queue capacity assumed for a device that has not reported telemetry yet (the agent's default).
    public var assumedQueueCapacity = 16

    public init() {}

    /// Checks that the limits are positive and the reserve a share; names the first that is not.
    public func validate() throws(MessageError) {
        if let maxInFlight, maxInFlight < 1 {
            throw MessageError(.invalidField, field: "maxInFlight", "is \(maxInFlight); must be at least 1")
        }
        if let (task, limit) = maxInFlightPerTask.first(where: { $0.value < 1 }) {
            throw MessageError(.invalidField, field: "maxInFlightPerTask.\(task)", "is \(limit); must be at least 1")
        }
        guard priorityReserve.isFinite, (0..<1).contains(priorityReserve) else {
            throw MessageError(.invalidField, field: "priorityReserve", "is \(priorityReserve); must be at least 0 and below 1")
        }
        guard assumedQueueCapacity >= 1 else {
            throw MessageError(.invalidField, field: "assumedQueueCapacity", "is \(assumedQueueCapacity); must be at least 1")
        }
    }
}

/// The room one task has at one moment: how many of its requests, and of all requests, may be in
/// flight, and the wait to suggest to a request that finds no room.
public struct AdmissionCapacity: Sendable, Hashable {
    public var perTask: Int
    public var total: Int
    public var retryAfterMs: Int

    public init(perTask: Int, total: Int, retryAfterMs: Int) {
        self.perTask = perTask
        self.total = total
        self.retryAfterMs = retryAfterMs
    }

    /// No limit (admission off).
    public static let unlimited = AdmissionCapacity(perTask: .max, total: .max, retryAfterMs: 0)
}

/// Why a request was refused at intake or given up (metrics label `reason`).
public enum RejectReason: String, Sendable, Hashable, CaseIterable {
    /// Its task's requests in flight are at the task's limit.
    case taskLimit = "task-limit"
    /// All requests in flight are at the total limit (or the part of it other than priority tasks may use).
    case totalLimit = "total-limit"
    /// The payload bytes in flight would pass ``LimitsConfiguration/maxInFlightBytes``.
    case inFlightBytes = "in-flight-bytes"
    /// Every replica of a needed module kept answering `busy` (retries used up, or the deadline came).
    case busyReplicas = "busy-replicas"
}

extension ReplicaChooser {
    /// The admission limits of `binding`'s task under the current plan: per task, the smallest
    /// queue room of any module the task runs (the queue capacities of its online replicas, summed);
    /// in total, the queue capacities of the plan's online devices. Without a plan (or a module
    /// without replicas) one device's capacity. The retry hint is the predicted time to work off
    /// the task's requests in flight on its slowest module (at least 10 ms).
    ///
    /// The task limit is also held to what the replicas can work off within `latencyBudgetMs` (half
    /// the default deadline): `budget / Σ (p50 / replicas)` over the task's modules, so admitted
    /// requests do not wait in queues past their deadline when modules are slow.
    public func admissionCapacity(
        for binding: TaskBinding, inFlight: Int, configuration: AdmissionConfiguration, latencyBudgetMs: Double = 5_000
    ) -> AdmissionCapacity {
        guard configuration.enabled else { return .unlimited }
        let assumed = configuration.assumedQueueCapacity
        func capacity(_ device: String) -> Int { telemetry[device]?.queueCapacity ?? assumed }
        var perTask = Int.max
        // One request's work, each module's time divided among its replicas, summed over the
        // task's modules: the replicas share devices and queues are FIFO, so requests in flight
        // advance together and each waits for about (in flight × this).
        var requestMs = 0.0
        for module in Set(binding.nodes.map(\.module)) {
            let hosts = replicas(of: module)
            perTask = min(perTask, hosts.isEmpty ? assumed : hosts.reduce(0) { $0 + capacity($1) })
            let each = hosts.isEmpty ? defaultModuleMs : hosts.map { moduleMs(module, on: $0) }.min() ?? defaultModuleMs
            requestMs += each / Double(max(hosts.count, 1))
        }
        if perTask == .max { perTask = assumed }
        if requestMs > 0, latencyBudgetMs.isFinite {
            perTask = min(perTask, max(1, Int(min(latencyBudgetMs / requestMs, Double(Int32.max)))))
        }
        let drainMs = Double(max(inFlight, 1)) * requestMs
        let devices = (plan?.devices ?? []).filter(isOnline)
        var total = devices.isEmpty ? assumed : devices.reduce(0) { $0 + capacity($1) }
        total = max(total, perTask)
        if let fixed = configuration.maxInFlightPerTask[binding.task.id] { perTask = fixed }
        if let fixed = configuration.maxInFlight { total = fixed }
        let retry = Int(min(max(drainMs.rounded(.up), 10), Double(TaskErrorMessage.retryAfterRange.upperBound)))
        return AdmissionCapacity(perTask: perTask, total: total, retryAfterMs: retry)
    }
}

/// The admission decision itself (pure; ``RequestIntake`` asks it).
enum Admission {
    /// Nil when a request of `task` may be taken with `taskInFlight` of its task and `totalInFlight`
    /// in all in flight; else why not and what to tell the client.
    static func refusal(
        task: String, taskInFlight: Int, totalInFlight: Int, capacity: AdmissionCapacity, configuration: AdmissionConfiguration
    ) -> (reason: RejectReason, text: String)? {
        if taskInFlight >= capacity.perTask {
            return (.taskLimit, "'\(task)' has \(taskInFlight) requests in flight, as many as its devices can queue (limit \(capacity.perTask))")
        }
        var total = capacity.total
        if !configuration.priorityTasks.isEmpty, !configuration.priorityTasks.contains(task), capacity.total != .max {
            let reserve = Int((Double(capacity.total) * configuration.priorityReserve).rounded(.up))
            total = max(1, capacity.total - reserve)
        }
        if totalInFlight >= total {
            let held = total < capacity.total ? " (of \(capacity.total); the rest is held for priority tasks)" : ""
            return (.totalLimit, "the aggregator has \(totalInFlight) requests in flight, its limit is \(total)\(held)")
        }
        return nil
    }
}
