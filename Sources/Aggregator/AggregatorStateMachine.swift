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
        /// Partials of requests not in flight (finished, or never seen).
        public var droppedPartials = 0
        public var invocations = 0
    }

    struct Entry: Sendable {
        var execution: RequestExecution
        var reply: ReplyAddress
        /// The id the client gave (or was assigned), answered with; the execution may run under
        /// another internal id when another client's request uses the same one.
        var clientID: String
        var scoped: ScopedRequestID
        /// Payload bytes counted against ``LimitsConfiguration/maxInFlightBytes``.
        var payloadBytes: Int
    }

    public let configuration: AggregatorConfiguration
    public internal(set) var router = ReplicaChooser()
    public private(set) var statistics = Statistics()
    private let bindings: [String: TaskBinding]
    /// Requests in flight by internal id (the id their invocations and partials carry).
    private var active: [String: Entry] = [:]
    /// Client-scoped ids in flight → internal id.
    private var activeScoped: [ScopedRequestID: String] = [:]
    /// Finished client-scoped ids → when they finished (Unix ms).
    private var finished: [ScopedRequestID: Double] = [:]
    /// Internal ids finished within the window: not reused, so a late partial of one request can
    /// never be taken for another's.
    private var retiredInternal: [String: Double] = [:]
    /// Payload bytes of the requests in flight.
    public private(set) var inFlightBytes = 0
    private var assigned = 0
    private var lastPurgeMs = 0.0
    /// Camera streams (``StreamSessions``, docs/streams.md).
    var streams: StreamSessions

    public init(configuration: AggregatorConfiguration, catalog: ModuleCatalog) throws(CatalogError) {
        self.configuration = configuration
        var bindings: [String: TaskBinding] = [:]
        for task in catalog.tasks { bindings[task.id] = try TaskBinding(task: task, catalog: catalog) }
        self.bindings = bindings
        streams = StreamSessions(context: StreamContext(
            catalog: catalog, settings: configuration.executionSettings, limits: configuration.limits,
            timeoutMs: configuration.defaultTimeoutMs))
        router.telemetrySilenceMs = configuration.telemetrySilenceMs
    }

    /// Requests in flight.
    public var activeRequests: Int { active.count }

    /// The execution of a request in flight (tests, diagnostics).
    public func execution(_ requestID: String) -> RequestExecution? { active[requestID]?.execution }

    // MARK: Requests

    /// A message on `requests/{task}`. Every request not delivered retained ends in exactly one
    /// answer: a result, or an error (also for a task name that is empty or not an identifier,
    /// an id that is too long, and a repeated id, which gets `duplicate-request`).
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
        guard Topics.isValidIdentifier(task) else {
            let named = task.isEmpty ? "an empty task name" : "'\(LimitsConfiguration.echo(task))', which is not a task name"
            return reject(fallbackID, .unknownTask, "the request topic names \(named); publish to requests/{task} with one of: \(bindings.keys.sorted().joined(separator: ", "))", field: "topic")
        }
        let limits = configuration.limits
        // Before the payload is even parsed, so a burst costs no more memory than the limit.
        if inFlightBytes + payload.count > limits.maxInFlightBytes {
            return reject(
                fallbackID, .overloaded,
                "the aggregator holds \(inFlightBytes) bytes of requests in flight; this one (\(payload.count) bytes) would pass the limit of \(limits.maxInFlightBytes) bytes (maxInFlightBytes); retry shortly")
        }
        let request: TaskRequest
        do {
            request = try TaskRequest(payload: payload, properties: properties, topicTask: task, maxPayloadBytes: limits.maxPayloadBytes)
        } catch {
            return reject(fallbackID, TaskErrorCode(error), error.description, field: error.field)
        }
        guard let binding = bindings[task] else {
            return reject(request.requestID, .unknownTask, "no task '\(task)' in the catalog; tasks: \(bindings.keys.sorted().joined(separator: ", "))")
        }
        let clientID = request.requestID ?? nextID()
        let scoped = ScopedRequestID(client: reply.responseTopic ?? "", id: clientID)
        if activeScoped[scoped] != nil || finished[scoped] != nil {
            statistics.duplicateRequests += 1
            let state = activeScoped[scoped] != nil ? "is still in flight" : "was answered in the last \(Int(configuration.duplicateWindowMs / 1000)) s"
            // On the response topic only when there is one, so consumers of errors/{task} do not
            // take it for the original's answer.
            return error(
                clientID, task: task, .duplicateRequest,
                "request id '\(clientID)' \(state) (from this client); use a fresh id for a new request", field: "requestId",
                reply: reply, nowMs: nowMs, onTaskTopic: reply.responseTopic == nil)
        }
        let inputs: [String: TensorBundle]
        do {
            try Self.checkLimits(request, limits: limits)
            try Self.checkKinds(request, binding: binding)
            inputs = try binding.inputValues(try request.bundle())
        } catch let error as TaskBindingError {
            return reject(clientID, .missingInput, error.message, field: "inputs.\(error.field)")
        } catch let error as RequestInputError {
            return reject(clientID, error.code, error.reason, field: error.field)
        } catch let error as MessageError {
            return reject(clientID, TaskErrorCode(error), error.description, field: error.field)
        } catch {
            return reject(clientID, .internalError, "\(error)")
        }
        if let why = router.plan?.unavailableTasks?[task] {
            return reject(clientID, .taskUnavailable, "the current plan cannot serve '\(task)': \(why)")
        }
        let internalID = internalID(for: clientID)
        let deadline = request.deadlineMs(receivedAtMs: Int(nowMs), properties: properties, defaultTimeoutMs: configuration.defaultTimeoutMs)
        var execution = RequestExecution(
            requestID: internalID, binding: binding, inputs: inputs, settings: configuration.executionSettings,
            receivedAtMs: nowMs, deadlineMs: deadline, traceparent: traceparent)
        let actions = execution.start(router: &router, nowMs: nowMs)
        active[internalID] = Entry(execution: execution, reply: reply, clientID: clientID, scoped: scoped, payloadBytes: payload.count)
        activeScoped[scoped] = internalID
        inFlightBytes += payload.count
        return settle(internalID, actions, nowMs: nowMs)
    }

    /// The client's id when no request in flight or recently finished runs under it, else a fresh
    /// one of this aggregator's (another client chose the same id).
    private mutating func internalID(for clientID: String) -> String {
        var id = clientID
        while active[id] != nil || retiredInternal[id] != nil { id = nextID() }
        return id
    }

    // MARK: Cluster state

    /// A plan; a newer epoch re-dispatches branches that were waiting for one and ends requests
    /// of tasks it lists as unavailable with `task-unavailable`.
    public mutating func receivePlan(_ plan: PlanMessage, nowMs: Double) -> [AggregatorAction] {
        guard router.apply(plan: plan) else { return [] }
        let unavailable = plan.unavailableTasks ?? [:]
        let streamed = streamActions(streams.forEach(router: &router, nowMs: nowMs) { $0.planChanged(router: &$1, nowMs: nowMs) })
        return streamed + forEachActive(nowMs: nowMs) { execution, router in
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
        let streamed = streamActions(streams.forEach(router: &router, nowMs: nowMs) { $0.deviceLost(state.device, router: &$1, nowMs: nowMs) })
        return streamed + forEachActive(nowMs: nowMs) { $0.deviceLost(state.device, router: &$1, nowMs: nowMs) }
    }

    public mutating func receiveTelemetry(_ telemetry: DeviceTelemetry) {
        router.apply(telemetry: telemetry)
    }

    /// Telemetry heard at `nowMs`: the device is alive (see ``tick(nowMs:)`` for silence).
    public mutating func receiveTelemetry(_ telemetry: DeviceTelemetry, nowMs: Double) {
        router.apply(telemetry: telemetry, nowMs: nowMs)
    }

    /// A device's answer (already decoded from its bundle).
    public mutating func receivePartial(_ partial: PartialResult, outputs: TensorBundle, nowMs: Double) -> [AggregatorAction] {
        guard var entry = active[partial.requestID] else {
            if let source = streams.owner(of: partial.requestID) {
                return streamActions(streams.forEach(source: source, router: &router, nowMs: nowMs) {
                    $0.receive(partial, outputs: outputs, router: &$1, nowMs: nowMs)
                })
            }
            statistics.droppedPartials += 1
            return []
        }
        let actions = entry.execution.receive(partial, outputs: outputs, router: &router, nowMs: nowMs)
        active[partial.requestID] = entry
        return settle(partial.requestID, actions, nowMs: nowMs)
    }

    /// Time passed: deadlines, invocation timeouts, back-offs; forgets old finished ids.
    public mutating func tick(nowMs: Double) -> [AggregatorAction] {
        if nowMs - lastPurgeMs >= 1_000 {
            finished = finished.filter { nowMs - $0.value < configuration.duplicateWindowMs }
            retiredInternal = retiredInternal.filter { nowMs - $0.value < configuration.duplicateWindowMs }
            lastPurgeMs = nowMs
        }
        var out: [AggregatorAction] = []
        // A device silent past its telemetry interval (hung, yet online for the broker): its
        // invocations move to another live replica now rather than at their timeout.
        for device in router.checkSilence(nowMs: nowMs) {
            out += forEachActive(nowMs: nowMs) { $0.deviceSuspected(device, router: &$1, nowMs: nowMs) }
            out += streamActions(streams.forEach(router: &router, nowMs: nowMs) { $0.deviceSuspected(device, router: &$1, nowMs: nowMs) })
        }
        out += streamActions(streams.forEach(router: &router, nowMs: nowMs) { $0.tick(router: &$1, nowMs: nowMs) })
        return out + forEachActive(nowMs: nowMs) { $0.tick(router: &$1, nowMs: nowMs) }
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
            case .complete(var result):
                result.requestID = entry.clientID
                do {
                    // A result that cannot be published (e.g. outputs a device made up) would leave
                    // the client without an answer: it is answered with an error instead.
                    try result.validate()
                    statistics.results += 1
                    out.append(.result(result, entry.reply))
                } catch {
                    out += self.error(
                        entry.clientID, task: entry.execution.task, .moduleFailed,
                        "the task's result cannot be published: \(error.description)", field: error.field, reply: entry.reply, nowMs: nowMs)
                }
                retire(id, entry, nowMs: nowMs)
            case .fail(let code, let reason, let field):
                out += error(entry.clientID, task: entry.execution.task, code, reason, field: field, reply: entry.reply, nowMs: nowMs)
                retire(id, entry, nowMs: nowMs)
            }
        }
        return out
    }

    /// A request ended: its ids are remembered for the window, its bytes leave the in-flight count.
    private mutating func retire(_ internalID: String, _ entry: Entry, nowMs: Double) {
        active[internalID] = nil
        activeScoped[entry.scoped] = nil
        finished[entry.scoped] = nowMs
        retiredInternal[internalID] = nowMs
        inFlightBytes -= entry.payloadBytes
    }

    /// An error answer, made publishable whatever went into it (``TaskErrorMessage/publishable()``):
    /// a task that is not an identifier is published on `errors/-`.
    private mutating func error(
        _ id: String?, task: String, _ code: TaskErrorCode, _ reason: String, field: String?, reply: ReplyAddress, nowMs: Double,
        onTaskTopic: Bool = true
    ) -> [AggregatorAction] {
        statistics.errors += 1
        let message = TaskErrorMessage(requestID: id, task: task, code: code, reason: reason, field: field, timestampMs: Int(nowMs))
        return [.error(message.publishable(), reply, publishOnTaskTopic: onTaskTopic)]
    }

    private mutating func nextID() -> String {
        assigned += 1
        return "\(configuration.id)-\(assigned)"
    }
}

/// A request id as the client meant it: ids are scoped by client, and the client is known by the
/// request's response topic (MQTT 5 does not tell who published; topics.md). Requests without a
/// response topic share one scope.
struct ScopedRequestID: Sendable, Hashable {
    var client: String
    var id: String
}
