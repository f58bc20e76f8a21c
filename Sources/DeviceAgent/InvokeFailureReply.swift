import S2M3Core

/// The `error` answer to an invocation that could not be read (not a bundle, missing or invalid
/// metadata): it goes wherever an answer can still be addressed, with whatever identity could be
/// read. Pure, so tests can check every fallback.
///
/// The request id comes from the bundle's `s2m3.request-id`, else the correlation data, else the
/// `s2m3-request-id` user property; the topic from `s2m3.reply-to`, else the MQTT response topic.
/// Fields that cannot be read (or lie outside ``ValueRange``) are `unknown` (task, node) or 1 (epoch, attempt). With no request id
/// or no topic there is nobody to answer: nil (the agent logs a warning instead).
public struct InvokeFailureReply: Sendable, Hashable {
    public var topic: String
    public var partial: PartialResult

    /// The placeholder for a task or node the invocation did not name readably.
    public static let unknown = "unknown"

    public init?(
        metadata: [String: String], properties: MessageProperties, topicModule: String, device: String,
        topics: Topics, reason: String, receivedAtMs: Int, finishedAtMs: Int
    ) {
        let requestID = [
            metadata[BundleMetadataKey.requestID], properties.correlationData.flatMap { RequestID.from(correlationData: $0) },
            properties.userProperty(MessageProperties.requestIDName),
        ].compactMap { $0 }.first(where: RequestID.isValid)
        let topic: String?
        if let replyTo = metadata[BundleMetadataKey.replyTo], Topics.isValidIdentifier(replyTo) {
            topic = topics.aggregatorPartials(replyTo, device: device)
        } else if let responseTopic = properties.responseTopic, !responseTopic.isEmpty,
            !responseTopic.contains(where: { $0 == "+" || $0 == "#" })
        {
            topic = responseTopic
        } else {
            topic = nil
        }
        guard let requestID, let topic else { return nil }
        func identifier(_ key: String) -> String {
            metadata[key].flatMap { Topics.isValidIdentifier($0) ? $0 : nil } ?? Self.unknown
        }
        func inRange(_ value: String?, _ range: ClosedRange<Int>) -> Int? { value.flatMap(Int.init).flatMap { range.contains($0) ? $0 : nil } }
        let epoch = inRange(metadata[BundleMetadataKey.epoch], ValueRange.epoch)
            ?? inRange(properties.userProperty(MessageProperties.epochName), ValueRange.epoch) ?? 1
        self.topic = topic
        partial = PartialResult(
            requestID: requestID, task: identifier(BundleMetadataKey.task), node: identifier(BundleMetadataKey.node),
            module: Topics.isValidIdentifier(topicModule) ? topicModule : Self.unknown, device: device, epoch: epoch,
            attempt: inRange(metadata[BundleMetadataKey.attempt], ValueRange.attempt) ?? 1, status: .error, error: reason,
            queueWaitMs: 0, computeMs: 0, receivedAtMs: receivedAtMs, startedAtMs: nil,
            finishedAtMs: max(finishedAtMs, receivedAtMs))
    }
}
