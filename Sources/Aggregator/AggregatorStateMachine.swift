import Catalog
import S2M3Core

/// The aggregator without I/O: reads requests (answering bad ones with a ``TaskErrorMessage``),
/// keeps one ``RequestExecution`` per request in flight, feeds them plans, device states,
/// telemetry, partials and time, and forgets finished request ids after a window (so a repeated
/// id gets one answer). ``AggregatorService`` runs it over MQTT.
public struct AggregatorStateMachine: Sendable {
    /// Counters, for logs and tests.
    public struct Statistics: Sendable, Hashable {
        public var requests = 0
        public var results = 0
        public var errors = 0
        public var duplicateRequests = 0
        public var droppedPartials = 0
        public var invocations = 0
    }

    struct Entry: Sendable {
        var execution: RequestExecution
        var reply: ReplyAddress
    }

    public let configuration: AggregatorConfiguration
    public private(set) var router = ReplicaChooser()
    public private(set) var statistics = Statistics()
    private let bindings: [String: TaskBinding]
    private var active: [String: Entry] = [:]
    /// Finished request ids → when they finished (Unix ms).
    private var finished: [String: Double] = [:]
    private var assigned = 0
    private var lastPurgeMs = 0.0

    public init(configuration: AggregatorConfiguration, catalog: ModuleCatalog) throws(CatalogError) {
        self.configuration = configuration
        var bindings: [String: TaskBinding] = [:]
        for task in catalog.tasks { bindings[task.id] = try TaskBinding(task: task, catalog: catalog) }
        self.bindings = bindings
    }

    /// Requests in flight.
    public var activeRequests: Int { active.count }

    /// The execution of a request in flight (tests, diagnostics).
    public func execution(_ requestID: String) -> RequestExecution? { active[requestID]?.execution }

    // MARK: Requests

    /// A message on `requests/{task}`.
    public mutating func receiveRequest(
        task: String, payload: [UInt8], properties: MessageProperties, retained: Bool, nowMs: Double
    ) -> [AggregatorAction] {
        guard !retained else { return [] }  // topics.md: requests are never retained
        statistics.requests += 1
        let traceparent = MessageProperties.validTraceparent(in: properties)
        let reply = ReplyAddress(responseTopic: properties.responseTopic, correlationData: properties.correlationData, traceparent: traceparent)
        let fallbackID = properties.correlationData.flatMap(RequestID.from(correlationData:))
            ?? properties.userProperty(MessageProperties.requestIDName).flatMap { RequestID.isValid($0) ? $0 : nil }
        func reject(_ id: String?, _ code: TaskErrorCode, _ reason: String, field: String? = nil) -> [AggregatorAction] {
            error(id, task: task, code, reason, field: field, reply: reply, nowMs: nowMs)
        }
        let request: TaskRequest
        do {
            request = try TaskRequest(payload: payload, properties: properties, topicTask: task, maxPayloadBytes: configuration.maxPayloadBytes)
        } catch {
            return reject(fallbackID, TaskErrorCode(error), error.description, field: error.field)
        }
        guard let binding = bindings[task] else {
            return reject(request.requestID, .unknownTask, "no task '\(task)' in the catalog; tasks: \(bindings.keys.sorted().joined(separator: ", "))")
        }
        let requestID = request.requestID ?? nextID()
        if active[requestID] != nil || finished[requestID] != nil {
            statistics.duplicateRequests += 1
            return []
        }
        let inputs: [String: TensorBundle]
        do {
            try Self.checkKinds(request, binding: binding)
            inputs = try binding.inputValues(try request.bundle())
        } catch let error as TaskBindingError {
            return reject(requestID, .missingInput, error.message, field: "inputs.\(error.field)")
        } catch let error as RequestInputError {
            return reject(requestID, error.code, error.reason, field: error.field)
        } catch let error as MessageError {
            return reject(requestID, TaskErrorCode(error), error.description, field: error.field)
        } catch {
            return reject(requestID, .internalError, "\(error)")
        }
        if let why = router.plan?.unavailableTasks?[task] {
            return reject(requestID, .taskUnavailable, "the current plan cannot serve '\(task)': \(why)")
        }
        let deadline = request.deadlineMs(receivedAtMs: Int(nowMs), properties: properties, defaultTimeoutMs: configuration.defaultTimeoutMs)
        var execution = RequestExecution(
            requestID: requestID, binding: binding, inputs: inputs, settings: configuration.executionSettings,
            receivedAtMs: nowMs, deadlineMs: deadline, traceparent: traceparent)
        let actions = execution.start(router: &router, nowMs: nowMs)
        active[requestID] = Entry(execution: execution, reply: reply)
        return settle(requestID, actions, nowMs: nowMs)
    }

    // MARK: Cluster state

    /// A plan; a newer epoch re-dispatches branches that were waiting for one and ends requests
    /// of tasks it lists as unavailable with `task-unavailable`.
    public mutating func receivePlan(_ plan: PlanMessage, nowMs: Double) -> [AggregatorAction] {
        guard router.apply(plan: plan) else { return [] }
        let unavailable = plan.unavailableTasks ?? [:]
        return forEachActive(nowMs: nowMs) { execution, router in
            if let why = unavailable[execution.task] {
                // The new plan cannot serve the task: waiting would only run into the deadline.
                return execution.fail(.taskUnavailable, "the plan of epoch \(plan.epoch) cannot serve '\(execution.task)': \(why)", field: nil, router: &router)
            }
            return execution.planChanged(router: &router, nowMs: nowMs)
        }
    }

    /// A device state; an `offline` one re-routes that device's invocations.
    public mutating func receiveState(_ state: DeviceState, nowMs: Double) -> [AggregatorAction] {
        guard router.apply(state: state) else { return [] }
        return forEachActive(nowMs: nowMs) { $0.deviceLost(state.device, router: &$1, nowMs: nowMs) }
    }

    public mutating func receiveTelemetry(_ telemetry: DeviceTelemetry) {
        router.apply(telemetry: telemetry)
    }

    /// A device's answer (already decoded from its bundle).
    public mutating func receivePartial(_ partial: PartialResult, outputs: TensorBundle, nowMs: Double) -> [AggregatorAction] {
        guard var entry = active[partial.requestID] else {
            statistics.droppedPartials += 1
            return []
        }
        let actions = entry.execution.receive(partial, outputs: outputs, router: &router, nowMs: nowMs)
        active[partial.requestID] = entry
        if actions.isEmpty { statistics.droppedPartials += 1 }
        return settle(partial.requestID, actions, nowMs: nowMs)
    }

    /// Time passed: deadlines, invocation timeouts, back-offs; forgets old finished ids.
    public mutating func tick(nowMs: Double) -> [AggregatorAction] {
        if nowMs - lastPurgeMs >= 1_000 {
            finished = finished.filter { nowMs - $0.value < configuration.duplicateWindowMs }
            lastPurgeMs = nowMs
        }
        return forEachActive(nowMs: nowMs) { $0.tick(router: &$1, nowMs: nowMs) }
    }

    // MARK: Helpers

    private mutating func forEachActive(
        nowMs: Double, _ body: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [AggregatorAction] {
        var out: [AggregatorAction] = []
        for id in active.keys.sorted() {
            guard var entry = active[id] else { continue }
            let actions = body(&entry.execution, &router)
            active[id] = entry
            out += settle(id, actions, nowMs: nowMs)
        }
        return out
    }

    /// Turns a request's actions into publications; a finished request is remembered, not kept.
    private mutating func settle(_ id: String, _ actions: [RequestExecution.Action], nowMs: Double) -> [AggregatorAction] {
        guard let entry = active[id] else { return [] }
        var out: [AggregatorAction] = []
        for action in actions {
            switch action {
            case .invoke(let invocation):
                statistics.invocations += 1
                out.append(.invoke(invocation))
            case .complete(let result):
                statistics.results += 1
                out.append(.result(result, entry.reply))
                finished[id] = Double(result.completedAtMs)
                active[id] = nil
            case .fail(let code, let reason, let field):
                out += error(id, task: entry.execution.task, code, reason, field: field, reply: entry.reply, nowMs: nowMs)
                finished[id] = nowMs
                active[id] = nil
            }
        }
        return out
    }

    private mutating func error(
        _ id: String?, task: String, _ code: TaskErrorCode, _ reason: String, field: String?, reply: ReplyAddress, nowMs: Double
    ) -> [AggregatorAction] {
        statistics.errors += 1
        let safeTask = String(task.prefix(256)).isEmpty ? "-" : String(task.prefix(256))
        let message = TaskErrorMessage(requestID: id, task: safeTask, code: code, reason: reason, field: field, timestampMs: Int(nowMs))
        return [.error(message, reply, publishOnTaskTopic: Topics.isValidIdentifier(task))]
    }

    private mutating func nextID() -> String {
        assigned += 1
        return "\(configuration.id)-\(assigned)"
    }
}
