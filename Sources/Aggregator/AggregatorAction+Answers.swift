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
            let properties = result.properties(correlationData: reply.correlationData, traceparent: reply.traceparent)
            var out = [try MQTTMessage(topic: topics.results(result.task), control: result, properties: properties, on: topics)]
            if let topic = reply.responseTopic { out.append(try MQTTMessage(responseTopic: topic, control: result, properties: properties)) }
            return out
        case .error(let error, let reply, let onTaskTopic):
            let properties = error.properties(correlationData: reply.correlationData, traceparent: reply.traceparent)
            var out: [MQTTMessage] = []
            if onTaskTopic { out.append(try MQTTMessage(topic: topics.errors(error.task), control: error, properties: properties, on: topics)) }
            if let topic = reply.responseTopic { out.append(try MQTTMessage(responseTopic: topic, control: error, properties: properties)) }
            return out
        }
    }
}
