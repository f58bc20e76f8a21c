/// `aggregators/{aggregator}/streams/{source}` (not retained, about once a second): how one
/// source's stream keeps up. Counts are since the stream started on this aggregator; rates and
/// latencies cover the last `windowMs`. docs/streams.md.
public struct StreamTelemetry: ControlMessage {
    public static let schema = "s2m3.stream-telemetry/1"

    /// One task's frames and results on the stream. Each task is paced on its own: a frame
    /// received while the task is subscribed is either run by it (`framesProcessed`) or skipped
    /// for a reason (`skipped`; `busy`: the task was still on an earlier frame), so
    /// `framesIn` = `framesProcessed` + the skips once no frame waits.
    public struct TaskFigures: Codable, Sendable, Hashable {
        public var results: Int
        public var errors: Int
        /// From the frame's arrival to the task's result, ms, over the window (nil: no result in it).
        public var latencyP50Ms: Double?
        public var latencyP99Ms: Double?
        public var framesIn: Int
        public var framesProcessed: Int
        public var skipped: [String: Int]

        public init(
            results: Int, errors: Int, latencyP50Ms: Double?, latencyP99Ms: Double?,
            framesIn: Int = 0, framesProcessed: Int = 0, skipped: [String: Int] = [:]
        ) {
            self.results = results
            self.errors = errors
            self.latencyP50Ms = latencyP50Ms
            self.latencyP99Ms = latencyP99Ms
            self.framesIn = framesIn
            self.framesProcessed = framesProcessed
            self.skipped = skipped
        }
    }

    public var source: String
    public var aggregator: String
    public var timestampMs: Int
    public var windowMs: Int
    /// Frames received per second over the window.
    public var framesInPerSecond: Double
    /// Frames whose processing started per second over the window.
    public var framesProcessedPerSecond: Double
    /// Frames received, processed (started by at least one task), and dropped by no task run
    /// (by reason: `superseded`, `expired`, `rate`, `bad-frame`, `ended`, `error`, `unsubscribed`; `gap` counts
    /// missing sequence numbers).
    public var framesIn: Int
    public var framesProcessed: Int
    public var drops: [String: Int]
    public var tasks: [String: TaskFigures]
    /// False once the source said `offline` (its last will or a shutdown): the stream has ended and
    /// these are its final figures.
    public var sourceOnline: Bool = true
    /// A microphone's utterances found so far (absent for a camera); its `framesIn` and
    /// `framesProcessed` count audio chunks.
    public var utterances: Int?

    public init(
        source: String, aggregator: String, timestampMs: Int, windowMs: Int, framesInPerSecond: Double,
        framesProcessedPerSecond: Double, framesIn: Int, framesProcessed: Int, drops: [String: Int], tasks: [String: TaskFigures]
    ) {
        self.source = source
        self.aggregator = aggregator
        self.timestampMs = timestampMs
        self.windowMs = windowMs
        self.framesInPerSecond = framesInPerSecond
        self.framesProcessedPerSecond = framesProcessedPerSecond
        self.framesIn = framesIn
        self.framesProcessed = framesProcessed
        self.drops = drops
        self.tasks = tasks
    }

    public func properties() -> MessageProperties {
        MessageProperties(contentType: MediaType.json, messageExpirySeconds: DeviceTelemetry.messageExpirySeconds)
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(source, "source")
        try MessageCheck.identifier(aggregator, "aggregator")
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
        try MessageCheck.within(windowMs, 1...ValueRange.timeoutMs.upperBound, "windowMs")
        let rates = 0...Double(ValueRange.count.upperBound)
        try MessageCheck.within(framesInPerSecond, rates, "framesInPerSecond")
        try MessageCheck.within(framesProcessedPerSecond, rates, "framesProcessedPerSecond")
        try MessageCheck.within(framesIn, ValueRange.count, "framesIn")
        try MessageCheck.within(framesProcessed, ValueRange.count, "framesProcessed")
        for (reason, count) in drops.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(reason, "drops.\(LimitsConfiguration.echo(reason))")
            try MessageCheck.within(count, ValueRange.count, "drops.\(reason)")
        }
        if let utterances { try MessageCheck.within(utterances, ValueRange.count, "utterances") }
        guard tasks.count <= 256 else { throw MessageError(.invalidField, field: "tasks", "has \(tasks.count) tasks; at most 256") }
        for (task, figures) in tasks.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(task, "tasks.\(LimitsConfiguration.echo(task))")
            try MessageCheck.within(figures.results, ValueRange.count, "tasks.\(task).results")
            try MessageCheck.within(figures.errors, ValueRange.count, "tasks.\(task).errors")
            if let value = figures.latencyP50Ms { try MessageCheck.within(value, ValueRange.durationMs, "tasks.\(task).latencyP50Ms") }
            if let value = figures.latencyP99Ms { try MessageCheck.within(value, ValueRange.durationMs, "tasks.\(task).latencyP99Ms") }
            try MessageCheck.within(figures.framesIn, ValueRange.count, "tasks.\(task).framesIn")
            try MessageCheck.within(figures.framesProcessed, ValueRange.count, "tasks.\(task).framesProcessed")
            for (reason, count) in figures.skipped.sorted(by: { $0.key < $1.key }) {
                try MessageCheck.identifier(reason, "tasks.\(task).skipped.\(LimitsConfiguration.echo(reason))")
                try MessageCheck.within(count, ValueRange.count, "tasks.\(task).skipped.\(reason)")
            }
        }
    }
}
