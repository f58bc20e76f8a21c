import Catalog
import S2M3Core

/// The aggregator without I/O: reads requests (answering bad ones with a ``TaskErrorMessage``),
/// keeps one ``RequestExecution`` per request in flight, feeds them plans, device states,
/// telemetry, partials and time, and forgets finished request ids after a window (so a repeated
/// id gets one answer). ``AggregatorService`` runs it over MQTT.
public struct AggregatorStateMachine: Sendable {
    /// Counters, for logs and tests.
    /// Counters, for logs and tests.
    public struct Statistics: Sendable, Hashable {
        public var requests = 0
        public var results = 0
        public var errors = 0
        public var duplicateRequests = 0
        /// Partials of requests not in flight (finished, or never seen).
        public var droppedPartials = 0
        public var invocations = 0
        /// `busy` answers of devices (each one sends the invocation again later, or gives up).
        public var busyAnswers = 0
        /// Requests answered `overloaded`, by reason (at intake, or after busy replicas).
        public var rejected: [RejectReason: Int] = [:]
    }

    struct Entry: Sendable {
        var execution: RequestExecution
        var request: AdmittedRequest
    }

    public let configuration: AggregatorConfiguration
    public internal(set) var router = ReplicaChooser()
    /// Reads, checks and admits requests; remembers their ids.
    public private(set) var intake: RequestIntake
    private var counted = Statistics()
    /// Requests in flight by internal id (the id their invocations and partials carry).
    private var active: [String: Entry] = [:]
    /// Camera streams (``StreamSessions``, docs/streams.md).
    var streams: StreamSessions

    public init(configuration: AggregatorConfiguration, catalog: ModuleCatalog) throws(CatalogError) {
        self.configuration = configuration
        intake = try RequestIntake(configuration: configuration, catalog: catalog)
        streams = StreamSessions(context: StreamContext(
            catalog: catalog, settings: configuration.executionSettings, limits: configuration.limits,
            timeoutMs: configuration.defaultTimeoutMs))
        router.telemetrySilenceMs = configuration.telemetrySilenceMs
        router.aggregator = configuration.id
        for (name, subscription) in configuration.streamSubscriptions.sorted(by: { $0.key < $1.key }) {
            // Refused as a retained one would be: here the aggregator does not start.
            if case .error(let refusal) = streams.subscription(name, subscription, nowMs: 0).first {
                throw CatalogError(.invalidTask, entry: "", refusal.reason)
            }
        }
    }

    public var statistics: Statistics {
        var out = counted
        out.requests = intake.counters.requests
        out.errors = intake.counters.errors
        out.duplicateRequests = intake.counters.duplicateRequests
        out.rejected = intake.counters.rejected
        return out
    }

    /// Requests in flight.
    public var activeRequests: Int { active.count }
    /// Whether anything waits on the clock: a request in flight or a stream being served.
    public var needsTicks: Bool { !active.isEmpty || !streams.sessions.isEmpty }

    /// Payload bytes of the requests in flight.
    public var inFlightBytes: Int { intake.inFlightBytes }

    /// Requests in flight per task.
    public var inFlightByTask: [String: Int] { intake.inFlightByTask }

    /// The execution of a request in flight (tests, diagnostics).
    public func execution(_ requestID: String) -> RequestExecution? { active[requestID]?.execution }

    /// The admission limits of `task` now (nil for a task not in the catalog).
    public func admissionCapacity(of task: String) -> AdmissionCapacity? {
        intake.bindings[task].map { capacity(for: $0) }
    }

    private func capacity(for binding: TaskBinding) -> AdmissionCapacity {
        router.admissionCapacity(
            for: binding, inFlight: intake.inFlightByTask[binding.task.id] ?? 0, configuration: configuration.admission,
            latencyBudgetMs: Double(configuration.defaultTimeoutMs) / 2)
    }

    // MARK: Requests

    /// A message on `requests/{task}`, read and admitted by ``RequestIntake``: every request not
    /// delivered retained ends in exactly one answer, a result or an error.
    public mutating func receiveRequest(
        task: String, payload: [UInt8], properties: MessageProperties, retained: Bool, nowMs: Double
    ) -> [AggregatorAction] {
        let router = self.router
        let admission = configuration.admission
        let budget = Double(configuration.defaultTimeoutMs) / 2
        let inFlightByTask = intake.inFlightByTask
        let decision = intake.receive(task: task, payload: payload, properties: properties, retained: retained, nowMs: nowMs) { binding in
            router.admissionCapacity(for: binding, inFlight: inFlightByTask[binding.task.id] ?? 0, configuration: admission, latencyBudgetMs: budget)
        }
        let admitted: AdmittedRequest
        switch decision {
        case .ignore: return []
        case .refuse(let answer): return [answer]
        case .admit(let request): admitted = request
        }
        if let why = self.router.plan?.unavailableTasks?[task] {
            let answer = intake.error(
                admitted.clientID, task: task, .taskUnavailable, "the current plan cannot serve '\(task)': \(why)", field: nil,
                reply: admitted.reply, nowMs: nowMs)
            intake.retire(admitted, answer: answer, nowMs: nowMs)
            return [answer]
        }
        var execution = RequestExecution(
            requestID: admitted.internalID, binding: admitted.binding, inputs: admitted.inputs, settings: configuration.executionSettings,
            receivedAtMs: nowMs, deadlineMs: admitted.deadlineMs, traceparent: admitted.reply.traceparent)
        let actions = execution.start(router: &self.router, nowMs: nowMs)
        active[admitted.internalID] = Entry(execution: execution, request: admitted)
        return settle(admitted.internalID, actions, nowMs: nowMs)
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
                return streamActions(streams.forEach(source: source, requestID: partial.requestID, router: &router, nowMs: nowMs) {
                    $0.receive(partial, outputs: outputs, router: &$1, nowMs: nowMs)
                })
            }
            counted.droppedPartials += 1
            return []
        }
        if partial.status == .busy { counted.busyAnswers += 1 }
        let actions = entry.execution.receive(partial, outputs: outputs, router: &router, nowMs: nowMs)
        active[partial.requestID] = entry
        return settle(partial.requestID, actions, nowMs: nowMs)
    }

    /// Time passed: deadlines, invocation timeouts, back-offs; forgets old finished ids.
    public mutating func tick(nowMs: Double) -> [AggregatorAction] {
        intake.purge(nowMs: nowMs)
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
        let request = entry.request
        var out: [AggregatorAction] = []
        for action in actions {
            switch action {
            case .invoke(let invocation):
                counted.invocations += 1
                out.append(.invoke(invocation))
            case .complete(var result):
                result.requestID = request.clientID
                let answer: AggregatorAction
                do {
                    // A result that cannot be published (e.g. outputs a device made up) would leave
                    // the client without an answer: it is answered with an error instead.
                    try result.validate()
                    counted.results += 1
                    answer = .result(result, request.reply)
                } catch {
                    answer = intake.error(
                        request.clientID, task: request.task, .moduleFailed,
                        "the task's result cannot be published: \(error.description)", field: error.field, reply: request.reply, nowMs: nowMs)
                }
                out.append(answer)
                retire(id, request, answer: answer, nowMs: nowMs)
            case .fail(let code, let reason, let field):
                var retryAfterMs: Int?
                if code == .overloaded {
                    intake.gaveUp(.busyReplicas)
                    retryAfterMs = capacity(for: request.binding).retryAfterMs
                }
                let answer = intake.error(
                    request.clientID, task: request.task, code, reason, field: field, reply: request.reply, nowMs: nowMs,
                    retryAfterMs: retryAfterMs)
                out.append(answer)
                retire(id, request, answer: answer, nowMs: nowMs)
            }
        }
        return out
    }

    private mutating func retire(_ internalID: String, _ request: AdmittedRequest, answer: AggregatorAction, nowMs: Double) {
        active[internalID] = nil
        intake.retire(request, answer: answer, nowMs: nowMs)
    }
}
