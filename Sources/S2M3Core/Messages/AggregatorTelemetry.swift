/// `aggregators/{aggregator}/telemetry` (not retained, about once a second): the load on one
/// aggregator and how its recent requests ended, for operators and `s2m3 status`.
public struct AggregatorTelemetry: ControlMessage {
    public static let schema = "s2m3.aggregator-telemetry/1"

    public var aggregator: String
    public var timestampMs: Int
    /// Epoch of the plan the aggregator routes by (absent before its first plan).
    public var epoch: Int?
    /// Requests received and not yet answered.
    public var inFlight: Int
    /// Requests received per second over the last `rateWindowMs`.
    public var requestsPerSecond: Double
    /// The window of `requestsPerSecond`, ms.
    public var rateWindowMs: Int
    /// The window of `requests`, `results` and `errors`, ms (counts of the most recent ones).
    public var windowMs: Int
    /// Requests received within `windowMs`.
    public var requests: Int
    /// Results published within `windowMs`.
    public var results: Int
    /// Errors published within `windowMs`, by code (`overloaded`, `bad-input`, …; topics.md, Errors).
    public var errors: [String: Int]
    /// Per task, the time from receiving a request to publishing its result, over the most recent
    /// results (what the planner's predictions are compared with; absent in older aggregators).
    public var tasks: [String: MeasuredTiming]?
    /// The time an invocation spends on the bus, both ways (timeline `transferMs`), over the most
    /// recent invocations: what the planner learns its link latency from.
    public var transfer: MeasuredTiming?
    /// Per task, results published per second over the last `rateWindowMs`: the load the planner
    /// plans replicas for (absent in older aggregators).
    public var taskRates: [String: Double]?

    public init(
        aggregator: String, timestampMs: Int, epoch: Int?, inFlight: Int, requestsPerSecond: Double, rateWindowMs: Int,
        windowMs: Int, requests: Int, results: Int, errors: [String: Int], tasks: [String: MeasuredTiming]? = nil,
        transfer: MeasuredTiming? = nil, taskRates: [String: Double]? = nil
    ) {
        self.taskRates = taskRates
        self.aggregator = aggregator
        self.timestampMs = timestampMs
        self.epoch = epoch
        self.inFlight = inFlight
        self.requestsPerSecond = requestsPerSecond
        self.rateWindowMs = rateWindowMs
        self.windowMs = windowMs
        self.requests = requests
        self.results = results
        self.errors = errors
        self.tasks = tasks
        self.transfer = transfer
    }

    public func properties() -> MessageProperties {
        MessageProperties(contentType: MediaType.json, messageExpirySeconds: DeviceTelemetry.messageExpirySeconds)
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(aggregator, "aggregator")
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
        if let epoch { try MessageCheck.within(epoch, ValueRange.epoch, "epoch") }
        try MessageCheck.within(inFlight, ValueRange.count, "inFlight")
        try MessageCheck.within(requestsPerSecond, 0...Double(ValueRange.count.upperBound), "requestsPerSecond")
        try MessageCheck.within(rateWindowMs, 1...ValueRange.timeoutMs.upperBound, "rateWindowMs")
        try MessageCheck.within(windowMs, 1...ValueRange.timeoutMs.upperBound, "windowMs")
        try MessageCheck.within(requests, ValueRange.count, "requests")
        try MessageCheck.within(results, ValueRange.count, "results")
        guard errors.count <= 256 else { throw MessageError(.invalidField, field: "errors", "has \(errors.count) codes; at most 256") }
        for (code, count) in errors.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(code, "errors.\(LimitsConfiguration.echo(code))")
            try MessageCheck.within(count, ValueRange.count, "errors.\(code)")
        }
        let tasks = tasks ?? [:]
        guard tasks.count <= 1024 else { throw MessageError(.invalidField, field: "tasks", "has \(tasks.count) tasks; at most 1024") }
        try MeasuredTiming.validate(tasks, "tasks")
        try transfer?.validate("transfer")
        let rates = taskRates ?? [:]
        guard rates.count <= 1024 else { throw MessageError(.invalidField, field: "taskRates", "has \(rates.count) tasks; at most 1024") }
        for (task, rate) in rates.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(task, "taskRates.\(LimitsConfiguration.echo(task))")
            try MessageCheck.within(rate, 0...Double(ValueRange.count.upperBound), "taskRates.\(task)")
        }
    }
}
