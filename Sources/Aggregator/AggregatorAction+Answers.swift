import MQTTBus
import S2M3Bus
import S2M3Core

extension AggregatorAction {
    /// The messages that publish an answer (topics.md): a result on `results/{task}`, an error on
    /// `errors/{task}` (unless `publishOnTaskTopic` is false), each also on the request's response
    /// topic with its correlation data. Empty for an invocation and a stream result. The aggregator and `s2m3 serve`
    /// both answer through it.
    public func answerMessages(topics: Topics) throws -> [MQTTMessage] {
        switch self {
        case .invoke, .streamResult:
            // Stream results go to their source's topic (AggregatorService+Streams).
            return []
        case .result(let result, let reply):
            return try Self.copies(result, result.properties(correlationData: reply.correlationData, traceparent: reply.traceparent),
                                   taskTopic: topics.results(result.task), reply: reply, topics: topics)
        case .error(let error, let reply, let onTaskTopic):
            return try Self.copies(error, error.properties(correlationData: reply.correlationData, traceparent: reply.traceparent),
                                   taskTopic: onTaskTopic ? topics.errors(error.task) : nil, reply: reply, topics: topics)
        case .answeredAgain(let answer, let reply):
            // The first answer's message, on the repeat's response topic only.
            switch answer {
            case .result(let result, _):
                return try Self.copies(result, result.properties(correlationData: reply.correlationData, traceparent: reply.traceparent),
                                       taskTopic: nil, reply: reply, topics: topics)
            case .error(let error, _, _):
                return try Self.copies(error, error.properties(correlationData: reply.correlationData, traceparent: reply.traceparent),
                                       taskTopic: nil, reply: reply, topics: topics)
            default:
                return []
            }
        }
    }

    /// `message` as JSON, encoded once (most of the cost of answering), on `taskTopic` if any and
    /// on the reply's response topic if any.
    private static func copies<Message: ControlMessage>(
        _ message: Message, _ properties: MessageProperties, taskTopic: String?, reply: ReplyAddress, topics: Topics
    ) throws -> [MQTTMessage] {
        let payload = try message.jsonBytes(), mqttProperties = MQTTProperties(properties, utf8: true)
        var out: [MQTTMessage] = []
        if let taskTopic { out.append(try MQTTMessage(topic: taskTopic, payload: payload, properties: mqttProperties, on: topics)) }
        if let topic = reply.responseTopic { out.append(MQTTMessage(responseTopic: topic, payload: payload, properties: mqttProperties)) }
        return out
    }
}
