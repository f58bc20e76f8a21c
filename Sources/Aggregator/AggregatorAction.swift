import S2M3Core

/// Where an answer also goes besides `results/{task}` / `errors/{task}`: the request's MQTT 5
/// response topic, with its correlation data returned unchanged.
public struct ReplyAddress: Sendable, Hashable {
    public var responseTopic: String?
    public var correlationData: [UInt8]?
    public var traceparent: String?

    public init(responseTopic: String? = nil, correlationData: [UInt8]? = nil, traceparent: String? = nil) {
        self.responseTopic = responseTopic
        self.correlationData = correlationData
        self.traceparent = traceparent
    }
}

/// What the aggregator's state machine asks its service to publish.
public enum AggregatorAction: Sendable, Hashable {
    /// An invocation bundle for `modules/{module}/{device}/invoke`.
    case invoke(RequestExecution.Invocation)
    /// A result for `results/{task}` and the reply address.
    case result(TaskResult, ReplyAddress)
    /// An error for `errors/{task}` and the reply address. `publishOnTaskTopic` is false when the
    /// task name cannot be a topic level.
    case error(TaskErrorMessage, ReplyAddress, publishOnTaskTopic: Bool)
    /// A stream's result for `results/{task}/{source}` (the source is in the result's `frame`).
    case streamResult(TaskResult)
    /// An answer given before (a `.result` or `.error`), again, on this reply address only: its
    /// client sent the request again after it was answered (e.g. after a reconnect, when the
    /// first answer may have been lost with a restarting broker).
    indirect case answeredAgain(AggregatorAction, ReplyAddress)
}
