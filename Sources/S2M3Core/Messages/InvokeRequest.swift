import Foundation

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

    /// A node the device runs after this invocation's own, on the same device and in the same
    /// queue place (a co-located chain, topics.md). Its `arguments` are, in order, tensors of the
    /// values known to the device (the outputs of the chain's earlier nodes and the bundle's
    /// `~{value}~{tensor}` tensors), renamed by position to its module's call inputs. Each step is
    /// answered with its own partial, with outputs only when `returnsOutputs`.
    public struct Step: Sendable, Hashable, Codable {
        /// One argument: tensor `tensor` of value `value` (a task input or a node id).
        public struct Argument: Sendable, Hashable, Codable {
            public var value: String
            public var tensor: String

            public init(value: String, tensor: String) {
                self.value = value
                self.tensor = tensor
            }
        }

        public var node: String
        public var module: String
        public var attempt: Int
        /// The aggregator needs this node's outputs (another device or the result reads them).
        public var returnsOutputs: Bool
        public var arguments: [Argument]

        public init(node: String, module: String, attempt: Int, returnsOutputs: Bool, arguments: [Argument]) {
            self.node = node
            self.module = module
            self.attempt = attempt
            self.returnsOutputs = returnsOutputs
            self.arguments = arguments
        }
    }

    /// The most steps one invocation may chain, and arguments one step may have (a task graph
    /// is far smaller).
    public static let maxChainSteps = 64
    public static let maxStepArguments = 256
    /// Prefix of a bundle tensor that is not an argument of this node but a value a chained step
    /// reads: `~{value}~{tensor}` (value ids never contain `~`).
    public static let chainValuePrefix = "~"

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
    /// Whether the answer carries this node's outputs (false: only a chained step reads them).
    public var returnsOutputs: Bool
    /// Nodes to run after this one on the same device, in order (empty: just this one).
    public var chain: [Step]

    public init(
        requestID: String, task: String, node: String, module: String, epoch: Int, attempt: Int = 1,
        replyTo: String, deadlineMs: Int, traceparent: String? = nil, returnsOutputs: Bool = true, chain: [Step] = []
    ) {
        self.returnsOutputs = returnsOutputs
        self.chain = chain
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
        var entries = [
            BundleMetadataKey.schema: Self.schema, BundleMetadataKey.requestID: requestID,
            BundleMetadataKey.task: task, BundleMetadataKey.node: node, BundleMetadataKey.module: module,
            BundleMetadataKey.epoch: String(epoch), BundleMetadataKey.attempt: String(attempt),
            BundleMetadataKey.replyTo: replyTo, BundleMetadataKey.deadlineMs: String(deadlineMs),
        ]
        if !returnsOutputs { entries[BundleMetadataKey.keep] = "true" }
        if !chain.isEmpty { entries[BundleMetadataKey.chain] = Self.chainText(chain) }
        return entries
    }

    /// The invocation of chained step `index` as if sent alone (to answer it and key its repeats).
    public func step(_ index: Int) -> InvokeRequest {
        let step = chain[index]
        return InvokeRequest(
            requestID: requestID, task: task, node: step.node, module: step.module, epoch: epoch, attempt: step.attempt,
            replyTo: replyTo, deadlineMs: deadlineMs, traceparent: traceparent, returnsOutputs: step.returnsOutputs)
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
                traceparent: MessageProperties.validTraceparent(in: properties),
                returnsOutputs: try Self.flag(reader, BundleMetadataKey.keep) != true,
                chain: try Self.chain(from: bundle.metadata[BundleMetadataKey.chain]))
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
        guard chain.count <= Self.maxChainSteps else {
            throw MessageError(.invalidField, field: BundleMetadataKey.chain, "has \(chain.count) steps; at most \(Self.maxChainSteps)")
        }
        var nodes: Set = [node]
        for (index, step) in chain.enumerated() {
            let field = "\(BundleMetadataKey.chain)[\(index)]"
            try MessageCheck.identifier(step.node, field)
            try MessageCheck.identifier(step.module, field)
            try MessageCheck.within(step.attempt, ValueRange.attempt, field)
            guard nodes.insert(step.node).inserted else {
                throw MessageError(.invalidField, field: field, "node '\(step.node)' is run twice in one invocation")
            }
            guard step.arguments.count <= Self.maxStepArguments else {
                throw MessageError(.invalidField, field: field, "has \(step.arguments.count) arguments; at most \(Self.maxStepArguments)")
            }
            for argument in step.arguments {
                try MessageCheck.identifier(argument.value, field)
                guard !argument.tensor.isEmpty, argument.tensor.utf8.count <= 256 else {
                    throw MessageError(.invalidField, field: field, "an argument's tensor name is empty or longer than 256 bytes")
                }
            }
        }
    }

    private static func flag(_ reader: MetadataReader, _ key: String) throws(MessageError) -> Bool? {
        guard let text = reader.metadata[key] else { return nil }
        guard let value = Bool(text) else { throw MessageError(.invalidField, field: key, "'\(LimitsConfiguration.echo(text))' is not true or false") }
        return value
    }
}
