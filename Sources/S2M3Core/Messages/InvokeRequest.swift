/// One module invocation, sent by an aggregator on `modules/{module}/{device}/invoke`. The payload
/// is a ``TensorBundle``: the module's inputs as tensors named by the module's input names, and
/// this metadata in `__metadata__`.
///
/// The bundle is authoritative and self-contained (everything the device needs to do the work and
/// answer); the MQTT 5 properties from ``properties(topics:nowMs:)`` repeat what the broker and
/// generic tools act on: response topic, correlation data, message expiry, content type, and the
/// `s2m3-request-id`, `s2m3-epoch` and `traceparent` user properties. The trace context travels
/// only as a user property, as the W3C MQTT binding specifies.
public struct InvokeRequest: Sendable, Hashable {
    public static let schema = "s2m3.invoke/1"

    public var requestID: String
    public var task: String
    /// The task node being computed (a task may use one module at several nodes).
    public var node: String
    public var module: String
    /// The plan epoch the aggregator routed under.
    public var epoch: Int
    /// 1 for the first try, 2 for the first retry on another replica, …
    public var attempt: Int
    /// The aggregator id; the answer goes to `aggregators/{replyTo}/partials/{device}`.
    public var replyTo: String
    /// The request's deadline, Unix ms; a device skips work it cannot finish by then.
    public var deadlineMs: Int
    /// W3C traceparent (from the `traceparent` user property).
    public var traceparent: String?

    public init(
        requestID: String, task: String, node: String, module: String, epoch: Int, attempt: Int = 1,
        replyTo: String, deadlineMs: Int, traceparent: String? = nil
    ) {
        self.requestID = requestID
        self.task = task
        self.node = node
        self.module = module
        self.epoch = epoch
        self.attempt = attempt
        self.replyTo = replyTo
        self.deadlineMs = deadlineMs
        self.traceparent = traceparent
    }

    /// The metadata entries this invocation writes into its bundle.
    public var metadata: [String: String] {
        [
            BundleMetadataKey.schema: Self.schema, BundleMetadataKey.requestID: requestID,
            BundleMetadataKey.task: task, BundleMetadataKey.node: node, BundleMetadataKey.module: module,
            BundleMetadataKey.epoch: String(epoch), BundleMetadataKey.attempt: String(attempt),
            BundleMetadataKey.replyTo: replyTo, BundleMetadataKey.deadlineMs: String(deadlineMs),
        ]
    }

    /// `inputs` with this invocation's metadata added.
    public func bundle(inputs: TensorBundle) throws(MessageError) -> TensorBundle {
        try validate()
        var bundle = inputs
        bundle.metadata.merge(metadata) { _, new in new }
        return bundle
    }

    /// Reads the invocation from a received bundle and its user properties (for `traceparent`;
    /// a malformed one is dropped, as W3C Trace Context asks, rather than failing the work).
    public init(bundle: TensorBundle, properties: MessageProperties = MessageProperties()) throws(MessageError) {
        do {
            let reader = MetadataReader(metadata: bundle.metadata)
            try reader.schema(Self.schema)
            self.init(
                requestID: try reader.string(BundleMetadataKey.requestID), task: try reader.string(BundleMetadataKey.task),
                node: try reader.string(BundleMetadataKey.node), module: try reader.string(BundleMetadataKey.module),
                epoch: try reader.int(BundleMetadataKey.epoch), attempt: try reader.optionalInt(BundleMetadataKey.attempt) ?? 1,
                replyTo: try reader.string(BundleMetadataKey.replyTo), deadlineMs: try reader.int(BundleMetadataKey.deadlineMs),
                traceparent: MessageProperties.validTraceparent(in: properties))
            try validate()
        } catch {
            throw error.within(schema: Self.schema)
        }
    }

    /// The MQTT 5 properties to publish the invocation to `device` with (its response topic is
    /// that device's partials topic of the aggregator).
    public func properties(topics: Topics, device: String, nowMs: Int) -> MessageProperties {
        MessageProperties(
            contentType: TensorBundle.contentType,
            responseTopic: topics.aggregatorPartials(replyTo, device: device),
            correlationData: Array(requestID.utf8),
            messageExpirySeconds: MessageProperties.expirySeconds(untilMs: deadlineMs, nowMs: nowMs),
            userProperties: MessageProperties.requestProperties(requestID: requestID, epoch: epoch, traceparent: traceparent))
    }

    public func validate() throws(MessageError) {
        try MessageCheck.requestID(requestID, BundleMetadataKey.requestID)
        try MessageCheck.identifier(task, BundleMetadataKey.task)
        try MessageCheck.identifier(node, BundleMetadataKey.node)
        try MessageCheck.identifier(module, BundleMetadataKey.module)
        try MessageCheck.within(epoch, ValueRange.epoch, BundleMetadataKey.epoch)
        try MessageCheck.within(attempt, ValueRange.attempt, BundleMetadataKey.attempt)
        try MessageCheck.identifier(replyTo, BundleMetadataKey.replyTo)
        try MessageCheck.within(deadlineMs, ValueRange.timestampMs, BundleMetadataKey.deadlineMs)
        if let traceparent { try MessageCheck.traceparent(traceparent, MessageProperties.traceparentName) }
    }
}
