import Catalog
import S2M3Core

/// A request taken in: read, checked against the limits and the task's inputs, admitted, and
/// remembered under its ids until ``RequestIntake/retire(_:answer:nowMs:)``.
public struct AdmittedRequest: Sendable {
    /// The id its work runs under (the client's, unless another client's request in flight uses it).
    public let internalID: String
    /// The id the client gave (or was assigned), answered with.
    public let clientID: String
    let scoped: ScopedRequestID
    public let binding: TaskBinding
    public var task: String { binding.task.id }
    /// The request as a bundle (what ``TaskBinding/inputValues(_:)`` read).
    public let bundle: TensorBundle
    /// The task inputs, by task input id.
    public let inputs: [String: TensorBundle]
    public let reply: ReplyAddress
    public let receivedAtMs: Double
    public let deadlineMs: Int
    /// Payload bytes counted against ``LimitsConfiguration/maxInFlightBytes``.
    let payloadBytes: Int
}

/// The intake of requests shared by the aggregator and `s2m3 serve` (pure): decodes and checks a
/// request message, does not run a repeated id (per client, for
/// ``AggregatorConfiguration/duplicateWindowMs``: `duplicate-request`, or once answered the answer
/// again), refuses requests past the limits in flight (bytes, and ``AdmissionConfiguration``), and
/// answers every refusal with one ``TaskErrorMessage``. What runs an admitted request (invocations on
/// devices, or modules in this process) calls ``retire(_:answer:nowMs:)`` when it is answered.
public struct RequestIntake: Sendable {
    public enum Decision: Sendable {
        /// Run it.
        case admit(AdmittedRequest)
        /// Refused: publish this (one error).
        case refuse(AggregatorAction)
        /// Nothing to answer (a retained message).
        case ignore
    }

    /// Counters, for logs, metrics and tests.
    public struct Counters: Sendable, Hashable {
        public var requests = 0
        public var duplicateRequests = 0
        public var errors = 0
        /// Requests refused or given up for overload, by reason.
        public var rejected: [RejectReason: Int] = [:]
    }

    public let configuration: AggregatorConfiguration
    public let bindings: [String: TaskBinding]
    public private(set) var counters = Counters()
    /// Client-scoped ids in flight → internal id.
    private var activeScoped: [ScopedRequestID: String] = [:]
    /// Internal ids in flight.
    private var activeInternal: Set<String> = []
    /// Finished client-scoped ids → when they finished (Unix ms).
    private var finished: [ScopedRequestID: Double] = [:]
    /// The answers of finished requests that have a response topic, for a repeat of the request
    /// (at most ``rememberedAnswers``, the latest kept).
    private var answers: [ScopedRequestID: AggregatorAction] = [:]
    /// The ids of ``answers`` in the order they were kept, a ring: the slot the next one takes holds
    /// the oldest, forgotten then.
    private var answerOrder: [ScopedRequestID?] = Array(repeating: nil, count: rememberedAnswers)
    private var nextAnswerSlot = 0
    /// How many answers are kept for repeats.
    public static let rememberedAnswers = 1_024
    /// Internal ids finished within the window: not reused, so a late partial of one request can
    /// never be taken for another's.
    private var retiredInternal: [String: Double] = [:]
    /// Payload bytes of the requests in flight.
    public private(set) var inFlightBytes = 0
    /// Requests in flight per task.
    public private(set) var inFlightByTask: [String: Int] = [:]
    private var assigned = 0
    private var lastPurgeMs = 0.0

    public init(configuration: AggregatorConfiguration, catalog: ModuleCatalog) throws(CatalogError) {
        self.configuration = configuration
        var bindings: [String: TaskBinding] = [:]
        for task in catalog.tasks { bindings[task.id] = try TaskBinding(task: task, catalog: catalog) }
        self.bindings = bindings
    }

    /// Requests in flight.
    public var inFlight: Int { activeInternal.count }

    /// A message on `requests/{task}`. Every request not delivered retained ends in exactly one
    /// answer: admitted (its runner answers), or refused with an error (also for a task name that
    /// is empty or not an identifier, an id that is too long, and a repeated id, which gets
    /// `duplicate-request`). `capacity` gives the admission limits of a known task.
    public mutating func receive(
        task: String, payload: [UInt8], properties: MessageProperties, retained: Bool, nowMs: Double,
        capacity: (TaskBinding) -> AdmissionCapacity
    ) -> Decision {
        guard !retained else { return .ignore }  // topics.md: requests are never retained
        purge(nowMs: nowMs)
        counters.requests += 1
        let traceparent = MessageProperties.validTraceparent(in: properties)
        let reply = ReplyAddress(responseTopic: properties.responseTopic, correlationData: properties.correlationData, traceparent: traceparent)
        let fallbackID = properties.correlationData.flatMap(RequestID.from(correlationData:))
            ?? properties.userProperty(MessageProperties.requestIDName).flatMap { RequestID.isValid($0) ? $0 : nil }
        func reject(_ id: String?, _ code: TaskErrorCode, _ reason: String, field: String? = nil, retryAfterMs: Int? = nil) -> Decision {
            .refuse(error(id, task: task, code, reason, field: field, reply: reply, nowMs: nowMs, retryAfterMs: retryAfterMs))
        }
        guard Topics.isValidIdentifier(task) else {
            let named = task.isEmpty ? "an empty task name" : "'\(LimitsConfiguration.echo(task))', which is not a task name"
            return reject(fallbackID, .unknownTask, "the request topic names \(named); publish to requests/{task} with one of: \(bindings.keys.sorted().joined(separator: ", "))", field: "topic")
        }
        let limits = configuration.limits
        // Before the payload is even parsed, so a burst costs no more memory or time than a refusal.
        if let binding = bindings[task] {
            let room = capacity(binding)
            if let (reason, text) = Admission.refusal(
                task: task, taskInFlight: inFlightByTask[task] ?? 0, totalInFlight: inFlight, capacity: room,
                configuration: configuration.admission) {
                counters.rejected[reason, default: 0] += 1
                return reject(fallbackID, .overloaded, "\(text); retry after \(room.retryAfterMs) ms", retryAfterMs: room.retryAfterMs)
            }
        }
        if inFlightBytes + payload.count > limits.maxInFlightBytes {
            counters.rejected[.inFlightBytes, default: 0] += 1
            return reject(
                fallbackID, .overloaded,
                "the aggregator holds \(inFlightBytes) bytes of requests in flight; this one (\(payload.count) bytes) would pass the limit of \(limits.maxInFlightBytes) bytes (maxInFlightBytes); retry shortly",
                retryAfterMs: 100)
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
        if activeScoped[scoped] == nil, finished[scoped] != nil, let answer = answers[scoped] {
            // Sent again after it was answered (by a client that reconnected and did not get the
            // answer): the same answer, on its response topic only.
            counters.duplicateRequests += 1
            return .refuse(.answeredAgain(answer, reply))
        }
        if activeScoped[scoped] != nil || finished[scoped] != nil {
            counters.duplicateRequests += 1
            let state = activeScoped[scoped] != nil ? "is still in flight" : "was answered in the last \(Int(configuration.duplicateWindowMs / 1000)) s"
            // On the response topic only when there is one, so consumers of errors/{task} do not
            // take it for the original's answer.
            return .refuse(error(
                clientID, task: task, .duplicateRequest,
                "request id '\(clientID)' \(state) (from this client); use a fresh id for a new request", field: "requestId",
                reply: reply, nowMs: nowMs, onTaskTopic: reply.responseTopic == nil))
        }
        let bundle: TensorBundle
        let inputs: [String: TensorBundle]
        do {
            try AggregatorStateMachine.checkLimits(request, limits: limits)
            try AggregatorStateMachine.checkKinds(request, binding: binding)
            bundle = try request.bundle()
            inputs = try binding.inputValues(bundle)
        } catch let error as TaskBindingError {
            return reject(clientID, .missingInput, error.message, field: "inputs.\(error.field)")
        } catch let error as RequestInputError {
            return reject(clientID, error.code, error.reason, field: error.field)
        } catch let error as MessageError {
            return reject(clientID, TaskErrorCode(error), error.description, field: error.field)
        } catch {
            return reject(clientID, .internalError, "\(error)")
        }
        var internalID = clientID
        while activeInternal.contains(internalID) || retiredInternal[internalID] != nil { internalID = nextID() }
        let deadline = request.deadlineMs(receivedAtMs: Int(nowMs), properties: properties, defaultTimeoutMs: configuration.defaultTimeoutMs)
        activeScoped[scoped] = internalID
        activeInternal.insert(internalID)
        inFlightBytes += payload.count
        inFlightByTask[task, default: 0] += 1
        return .admit(AdmittedRequest(
            internalID: internalID, clientID: clientID, scoped: scoped, binding: binding, bundle: bundle, inputs: inputs,
            reply: reply, receivedAtMs: nowMs, deadlineMs: deadline, payloadBytes: payload.count))
    }

    /// A request was answered with `answer`: its ids are remembered for the window (and the answer,
    /// when the request has a response topic, to give it again to a repeat), it leaves the counts
    /// in flight.
    public mutating func retire(_ request: AdmittedRequest, answer: AggregatorAction, nowMs: Double) {
        guard activeInternal.remove(request.internalID) != nil else { return }
        activeScoped[request.scoped] = nil
        finished[request.scoped] = nowMs
        if request.reply.responseTopic != nil {
            if let oldest = answerOrder[nextAnswerSlot] { answers[oldest] = nil }
            answerOrder[nextAnswerSlot] = request.scoped
            nextAnswerSlot = (nextAnswerSlot + 1) % Self.rememberedAnswers
            answers[request.scoped] = answer
        }
        retiredInternal[request.internalID] = nowMs
        inFlightBytes -= request.payloadBytes
        let left = (inFlightByTask[request.task] ?? 1) - 1
        inFlightByTask[request.task] = left > 0 ? left : nil
    }

    /// Counts a request given up for overload after it was admitted (its error comes from its runner).
    public mutating func gaveUp(_ reason: RejectReason) {
        counters.rejected[reason, default: 0] += 1
    }

    /// Forgets ids finished longer than the duplicate window ago (at most once a second).
    public mutating func purge(nowMs: Double) {
        guard nowMs - lastPurgeMs >= 1_000 else { return }
        finished = finished.filter { nowMs - $0.value < configuration.duplicateWindowMs }
        answers = answers.filter { finished[$0.key] != nil }
        retiredInternal = retiredInternal.filter { nowMs - $0.value < configuration.duplicateWindowMs }
        lastPurgeMs = nowMs
    }

    /// An error answer, made publishable whatever went into it (``TaskErrorMessage/publishable()``):
    /// a task that is not an identifier is published on `errors/-`.
    public mutating func error(
        _ id: String?, task: String, _ code: TaskErrorCode, _ reason: String, field: String?, reply: ReplyAddress, nowMs: Double,
        onTaskTopic: Bool = true, retryAfterMs: Int? = nil
    ) -> AggregatorAction {
        counters.errors += 1
        let message = TaskErrorMessage(requestID: id, task: task, code: code, reason: reason, field: field, timestampMs: Int(nowMs), retryAfterMs: retryAfterMs)
        return .error(message.publishable(), reply, publishOnTaskTopic: onTaskTopic)
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
