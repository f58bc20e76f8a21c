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
        case .answeredAgain(let answer, let reply):
            guard let topic = reply.responseTopic else { return [] }
            switch answer {
            case .result(let result, _):
                let properties = MQTTProperties(result.properties(correlationData: reply.correlationData, traceparent: reply.traceparent), utf8: true)
                return [MQTTMessage(responseTopic: topic, payload: try result.jsonBytes(), properties: properties)]
            case .error(let error, _, _):
                let properties = MQTTProperties(error.properties(correlationData: reply.correlationData, traceparent: reply.traceparent), utf8: true)
                return [MQTTMessage(responseTopic: topic, payload: try error.jsonBytes(), properties: properties)]
            default:
                return []
            }
        case .result(let result, let reply):
            // One JSON encoding for both copies (it is most of the cost of answering).
            let payload = try result.jsonBytes()
            let properties = MQTTProperties(result.properties(correlationData: reply.correlationData, traceparent: reply.traceparent), utf8: true)
            var out = [try MQTTMessage(topic: topics.results(result.task), payload: payload, properties: properties, on: topics)]
            if let topic = reply.responseTopic { out.append(MQTTMessage(responseTopic: topic, payload: payload, properties: properties)) }
            return out
        case .error(let error, let reply, let onTaskTopic):
            let payload = try error.jsonBytes()
            let properties = MQTTProperties(error.properties(correlationData: reply.correlationData, traceparent: reply.traceparent), utf8: true)
            var out: [MQTTMessage] = []
            if onTaskTopic { out.append(try MQTTMessage(topic: topics.errors(error.task), payload: payload, properties: properties, on: topics)) }
            if let topic = reply.responseTopic { out.append(MQTTMessage(responseTopic: topic, payload: payload, properties: properties)) }
            return out
        }
    }
}
