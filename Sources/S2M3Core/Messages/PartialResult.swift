/// A device's answer to one ``InvokeRequest``, sent to `aggregators/{aggregator}/partials/{device}`. The
/// payload is a ``TensorBundle``: for `ok`, the module's outputs as tensors named by the module's
/// output names; for `busy` and `error`, no tensors. This metadata is in `__metadata__`.
///
/// Times are measured on the device: `receivedAtMs` when the invocation arrived, `startedAtMs`
/// when computing began (after the queue), `finishedAtMs` when it ended (Unix ms, device clock).
/// The aggregator derives transfer time from its own send/receive times minus these durations.
public struct PartialResult: Sendable, Hashable {
    public static let schema = "s2m3.partial/1"

    public enum Status: String, MessageEnum {
        /// Computed; the outputs are in the bundle.
        case ok
        /// The device's queue was full; nothing was computed. Retry on another replica.
        case busy
        /// The invocation failed (bad input, module not loaded, deadline passed); see `error`.
        case error
    }

    public var requestID: String
    public var task: String
    public var node: String
    public var module: String
    public var device: String
    public var epoch: Int
    public var attempt: Int
    public var status: Status
    /// What went wrong, for `error` (and optionally `busy`).
    public var error: String?
    public var queueWaitMs: Double
    public var computeMs: Double
    public var receivedAtMs: Int
    public var startedAtMs: Int?
    public var finishedAtMs: Int

    public init(
        requestID: String, task: String, node: String, module: String, device: String, epoch: Int, attempt: Int = 1,
        status: Status, error: String? = nil, queueWaitMs: Double, computeMs: Double, receivedAtMs: Int,
        startedAtMs: Int?, finishedAtMs: Int
    ) {
        self.requestID = requestID
        self.task = task
        self.node = node
        self.module = module
        self.device = device
        self.epoch = epoch
        self.attempt = attempt
        self.status = status
        self.error = error
        self.queueWaitMs = queueWaitMs
        self.computeMs = computeMs
        self.receivedAtMs = receivedAtMs
        self.startedAtMs = startedAtMs
        self.finishedAtMs = finishedAtMs
    }

    /// The answer to `invoke` from `device`, with the identity fields copied.
    public init(
        answering invoke: InvokeRequest, device: String, status: Status, error: String? = nil,
        queueWaitMs: Double, computeMs: Double, receivedAtMs: Int, startedAtMs: Int?, finishedAtMs: Int
    ) {
        self.init(
            requestID: invoke.requestID, task: invoke.task, node: invoke.node, module: invoke.module, device: device,
            epoch: invoke.epoch, attempt: invoke.attempt, status: status, error: error, queueWaitMs: queueWaitMs,
            computeMs: computeMs, receivedAtMs: receivedAtMs, startedAtMs: startedAtMs, finishedAtMs: finishedAtMs)
    }

    public var metadata: [String: String] {
        var out = [
            BundleMetadataKey.schema: Self.schema, BundleMetadataKey.requestID: requestID, BundleMetadataKey.task: task,
            BundleMetadataKey.node: node, BundleMetadataKey.module: module, BundleMetadataKey.device: device,
            BundleMetadataKey.epoch: String(epoch), BundleMetadataKey.attempt: String(attempt),
            BundleMetadataKey.status: status.rawValue, BundleMetadataKey.queueWaitMs: formatMilliseconds(queueWaitMs),
            BundleMetadataKey.computeMs: formatMilliseconds(computeMs), BundleMetadataKey.receivedAtMs: String(receivedAtMs),
            BundleMetadataKey.finishedAtMs: String(finishedAtMs),
        ]
        out[BundleMetadataKey.error] = error
        out[BundleMetadataKey.startedAtMs] = startedAtMs.map(String.init)
        return out
    }

    /// `outputs` (empty unless `ok`) with this result's metadata added.
    public func bundle(outputs: TensorBundle = TensorBundle()) throws(MessageError) -> TensorBundle {
        try validate()
        guard status == .ok || outputs.tensors.isEmpty else {
            throw MessageError(.invalidField, field: BundleMetadataKey.status, "a \(status.rawValue) result carries no tensors")
        }
        var bundle = outputs
        bundle.metadata.merge(metadata) { _, new in new }
        return bundle
    }

    public init(bundle: TensorBundle) throws(MessageError) {
        do {
            let reader = MetadataReader(metadata: bundle.metadata)
            try reader.schema(Self.schema)
            self.init(
                requestID: try reader.string(BundleMetadataKey.requestID), task: try reader.string(BundleMetadataKey.task),
                node: try reader.string(BundleMetadataKey.node), module: try reader.string(BundleMetadataKey.module),
                device: try reader.string(BundleMetadataKey.device), epoch: try reader.int(BundleMetadataKey.epoch),
                attempt: try reader.optionalInt(BundleMetadataKey.attempt) ?? 1,
                status: try reader.value(BundleMetadataKey.status, as: Status.self), error: bundle.metadata[BundleMetadataKey.error],
                queueWaitMs: try reader.double(BundleMetadataKey.queueWaitMs), computeMs: try reader.double(BundleMetadataKey.computeMs),
                receivedAtMs: try reader.int(BundleMetadataKey.receivedAtMs),
                startedAtMs: try reader.optionalInt(BundleMetadataKey.startedAtMs), finishedAtMs: try reader.int(BundleMetadataKey.finishedAtMs))
            try validate()
        } catch {
            throw error.within(schema: Self.schema)
        }
    }

    /// The MQTT 5 properties to publish the result with (`traceparent` copied from the invocation).
    public func properties(traceparent: String? = nil) -> MessageProperties {
        MessageProperties(
            contentType: TensorBundle.contentType, correlationData: Array(requestID.utf8),
            userProperties: MessageProperties.requestProperties(requestID: requestID, epoch: epoch, traceparent: traceparent))
    }

    public func validate() throws(MessageError) {
        try MessageCheck.requestID(requestID, BundleMetadataKey.requestID)
        try MessageCheck.identifier(task, BundleMetadataKey.task)
        try MessageCheck.identifier(node, BundleMetadataKey.node)
        try MessageCheck.identifier(module, BundleMetadataKey.module)
        try MessageCheck.identifier(device, BundleMetadataKey.device)
        try MessageCheck.within(epoch, ValueRange.epoch, BundleMetadataKey.epoch)
        try MessageCheck.within(attempt, ValueRange.attempt, BundleMetadataKey.attempt)
        if status == .error { try MessageCheck.nonEmpty(error ?? "", BundleMetadataKey.error) }
        if status == .ok, error != nil {
            throw MessageError(.invalidField, field: BundleMetadataKey.error, "an ok result carries no error")
        }
        try MessageCheck.within(queueWaitMs, ValueRange.durationMs, BundleMetadataKey.queueWaitMs)
        try MessageCheck.within(computeMs, ValueRange.durationMs, BundleMetadataKey.computeMs)
        try MessageCheck.within(receivedAtMs, ValueRange.timestampMs, BundleMetadataKey.receivedAtMs)
        try MessageCheck.within(finishedAtMs, ValueRange.timestampMs, BundleMetadataKey.finishedAtMs)
        if let startedAtMs {
            guard startedAtMs >= receivedAtMs, startedAtMs <= finishedAtMs else {
                throw MessageError(.invalidField, field: BundleMetadataKey.startedAtMs, "must lie between received-at and finished-at")
            }
        }
        guard finishedAtMs >= receivedAtMs else {
            throw MessageError(.invalidField, field: BundleMetadataKey.finishedAtMs, "is before received-at")
        }
    }
}
