/// The result of one request, published by the aggregator on `results/{task}` and, when the
/// request gave one, on its MQTT 5 response topic with its correlation data.
public struct TaskResult: ControlMessage {
    public static let schema = "s2m3.task-result/1"

    public var requestID: String
    public var task: String
    /// The plan epoch the request was routed under (the latest, if a retry crossed a re-plan).
    public var epoch: Int
    /// Outputs by the task's declared output names.
    public var outputs: [String: TaskOutput]
    /// One entry per module invocation, in the order they were sent.
    public var timeline: [TaskTimelineEntry]
    /// From the aggregator receiving the request to publishing this result, ms.
    public var totalMs: Double
    /// The aggregator that served the request.
    public var aggregator: String
    public var completedAtMs: Int
    /// On a stream's `results/{task}/{source}`: which frame (absent for a request's result).
    public var frame: StreamFrameReference?
    /// On a microphone's `results/{task}/{source}`: which utterance (absent otherwise).
    public var utterance: StreamUtterance?

    private enum CodingKeys: String, CodingKey {
        case requestID = "requestId", task, epoch, outputs, timeline, totalMs, aggregator, completedAtMs, frame, utterance
    }

    public init(
        requestID: String, task: String, epoch: Int, outputs: [String: TaskOutput], timeline: [TaskTimelineEntry],
        totalMs: Double, aggregator: String, completedAtMs: Int
    ) {
        self.requestID = requestID
        self.task = task
        self.epoch = epoch
        self.outputs = outputs
        self.timeline = timeline
        self.totalMs = totalMs
        self.aggregator = aggregator
        self.completedAtMs = completedAtMs
    }

    public func validate() throws(MessageError) {
        try MessageCheck.requestID(requestID, "requestId")
        try MessageCheck.identifier(task, "task")
        try MessageCheck.within(epoch, ValueRange.epoch, "epoch")
        guard !outputs.isEmpty else { throw MessageError(.missingField, field: "outputs", "a result has at least one output") }
        for (name, output) in outputs.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(name, "outputs.\(name)")
            try output.validate("outputs.\(name)")
        }
        for (index, entry) in timeline.enumerated() { try entry.validate("timeline[\(index)]") }
        try MessageCheck.nonNegative(totalMs, "totalMs")
        try MessageCheck.identifier(aggregator, "aggregator")
        try MessageCheck.within(completedAtMs, ValueRange.timestampMs, "completedAtMs")
        if let frame {
            try MessageCheck.identifier(frame.source, "frame.source")
            try MessageCheck.within(frame.sequence, 0...ValueRange.epoch.upperBound, "frame.sequence")
            try MessageCheck.within(frame.capturedMs, ValueRange.timestampMs, "frame.capturedMs")
        }
        try utterance?.validate()
    }

    /// The MQTT 5 properties to publish the result with; `correlationData` is the request's own,
    /// returned unchanged.
    public func properties(correlationData: [UInt8]?, traceparent: String?) -> MessageProperties {
        MessageProperties(
            contentType: MediaType.json, correlationData: correlationData,
            userProperties: MessageProperties.requestProperties(requestID: requestID, epoch: epoch, traceparent: traceparent))
    }
}

/// The frame a stream result is about: its source, sequence number and capture time.
public struct StreamFrameReference: Codable, Sendable, Hashable {
    public var source: String
    public var sequence: Int
    public var capturedMs: Int

    public init(source: String, sequence: Int, capturedMs: Int) {
        self.source = source
        self.sequence = sequence
        self.capturedMs = capturedMs
    }
}

/// The utterance a microphone stream's result is about (docs/streams.md): its source, its number
/// in the stream, where it starts and ends (ms into the stream, by the chunks' capture clock, and
/// the capture time of its start), why it ended, and whether chunks were lost inside or right
/// after it.
public struct StreamUtterance: Codable, Sendable, Hashable {
    /// Why an utterance ended.
    public enum EndReason: String, Codable, Sendable, Hashable {
        /// Speech followed by enough silence.
        case silence
        /// It reached the longest utterance the stream cuts (the speech may go on in the next).
        case maxLength = "max-length"
        /// Chunks were lost right after it: it is ended at the gap, not glued across.
        case gap
        /// The source said `offline` (its last will or a shutdown).
        case sourceEnded = "source-ended"
    }

    public var source: String
    /// 0, 1, … in the stream's order.
    public var index: Int
    /// Start and end of the speech, ms from the stream's first chunk (capture clock).
    public var startMs: Double
    public var endMs: Double
    /// Capture time of the speech's start, Unix ms.
    public var capturedMs: Int
    public var endReason: EndReason
    /// Chunks were lost inside the utterance's audio or right after it.
    public var gap: Bool

    public init(source: String, index: Int, startMs: Double, endMs: Double, capturedMs: Int, endReason: EndReason, gap: Bool) {
        self.source = source
        self.index = index
        self.startMs = startMs
        self.endMs = endMs
        self.capturedMs = capturedMs
        self.endReason = endReason
        self.gap = gap
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(source, "utterance.source")
        try MessageCheck.within(index, 0...ValueRange.epoch.upperBound, "utterance.index")
        try MessageCheck.within(startMs, ValueRange.durationMs, "utterance.startMs")
        try MessageCheck.within(endMs, startMs...ValueRange.durationMs.upperBound, "utterance.endMs")
        try MessageCheck.within(capturedMs, ValueRange.timestampMs, "utterance.capturedMs")
    }
}
