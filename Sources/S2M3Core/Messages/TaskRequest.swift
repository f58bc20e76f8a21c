/// A request for one task, published by a client on `requests/{task}`, as JSON with named inputs.
/// The same request may also arrive as a bare JPEG/PNG/WAV/text payload or as a bundle; see
/// ``init(payload:properties:topicTask:maxPayloadBytes:)`` for how each form is read.
public struct TaskRequest: ControlMessage {
    public static let schema = "s2m3.task-request/1"
    /// Default upper bound on a request payload (16 MiB).
    public static let defaultMaxPayloadBytes = 16 << 20

    /// The client's id for the request; when absent, the correlation data or the
    /// `s2m3-request-id` user property gives it, else the aggregator assigns one.
    public var requestID: String?
    /// The task; the topic names it, so this is optional, but must match the topic when given.
    public var task: String?
    /// Inputs by name (the task's declared input names, e.g. `image`, `audio`, `text`, `texts`).
    public var inputs: [String: TaskInput]
    /// Time the client allows, ms from when the aggregator receives the request; the MQTT 5
    /// message expiry, when shorter, wins.
    public var timeoutMs: Int?

    private enum CodingKeys: String, CodingKey {
        case requestID = "requestId", task, inputs, timeoutMs
    }

    public init(requestID: String? = nil, task: String? = nil, inputs: [String: TaskInput], timeoutMs: Int? = nil) {
        self.requestID = requestID
        self.task = task
        self.inputs = inputs
        self.timeoutMs = timeoutMs
    }

    public func validate() throws(MessageError) {
        if let requestID { try MessageCheck.requestID(requestID, "requestId") }
        if let task { try MessageCheck.identifier(task, "task") }
        guard !inputs.isEmpty else { throw MessageError(.missingField, field: "inputs", "a request needs at least one input") }
        for (name, input) in inputs.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(name, "inputs.\(name)")
            try input.validate("inputs.\(name)")
        }
        if let timeoutMs { try MessageCheck.within(timeoutMs, ValueRange.timeoutMs, "timeoutMs") }
    }

    /// The request's deadline, Unix ms: the earliest of the message expiry, `timeoutMs` and
    /// `defaultTimeoutMs`, counted from `receivedAtMs`. The timeout is held to
    /// ``ValueRange/timeoutMs`` and the sum saturates, so no input can overflow it.
    public func deadlineMs(receivedAtMs: Int, properties: MessageProperties, defaultTimeoutMs: Int) -> Int {
        var timeout = timeoutMs ?? defaultTimeoutMs
        if let expiry = properties.messageExpirySeconds { timeout = min(timeout, Int(expiry) * 1000) }
        timeout = min(max(timeout, ValueRange.timeoutMs.lowerBound), ValueRange.timeoutMs.upperBound)
        let (deadline, overflow) = receivedAtMs.addingReportingOverflow(timeout)
        return overflow ? Int.max : deadline
    }

    /// The request as a bundle: text inputs as marked `U8` tensors, media as marked `U8` tensors,
    /// tensors as they are; `requestId` and `timeoutMs` in the metadata.
    public func bundle() throws(MessageError) -> TensorBundle {
        try validate()
        var bundle = TensorBundle(metadata: [BundleMetadataKey.schema: Self.schema])
        bundle.metadata[BundleMetadataKey.requestID] = requestID
        bundle.metadata[BundleMetadataKey.task] = task
        bundle.metadata[BundleMetadataKey.timeoutMs] = timeoutMs.map(String.init)
        do {
            for (name, input) in inputs {
                try bundle.set(input, named: name)
            }
        } catch {
            throw MessageError(.invalidBundle, schema: Self.schema, error.message)
        }
        return bundle
    }
}
