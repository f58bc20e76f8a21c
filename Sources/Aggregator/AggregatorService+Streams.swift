import MQTTBus
import S2M3Bus
import S2M3Core

/// Camera and microphone streams on the bus (docs/streams.md): the aggregator reads every stream
/// subscription, source state, frame and audio chunk; results go to `results/{task}/{source}`.
extension AggregatorService {
    func subscribeStreams() async throws {
        let topics = configuration.topics
        try await connection.subscribe(topics.allStreamSubscriptions)
        try await connection.subscribe(topics.allSourceStates)
        try await connection.subscribe(topics.allSourceFrames, on: topics)
        try await connection.subscribe(topics.allSourceAudio, on: topics)
    }

    /// Handles a message on a stream topic; false when `message` is on none.
    func receiveStream(_ message: MQTTMessage, nowMs: Double) -> Bool {
        let topics = configuration.topics
        if let name = topics.subscription(fromStreamTopic: message.topic) {
            perform(machine.receiveSubscription(name, payload: message.payload, nowMs: nowMs))
            logger.info("stream subscription", metadata: ["stream.subscription": "\(name)", "stream.cleared": "\(message.payload.isEmpty)"])
            return true
        }
        guard let source = topics.source(fromSourceTopic: message.topic) else { return false }
        if message.topic == topics.sourceFrames(source) {
            perform(machine.receiveFrame(source: source, payload: message.payload, properties: MessageProperties(message.properties), nowMs: nowMs))
            return true
        }
        if message.topic == topics.sourceAudio(source) {
            perform(machine.receiveAudio(source: source, payload: message.payload, properties: MessageProperties(message.properties), nowMs: nowMs))
            return true
        }
        if message.topic == topics.sourceState(source), !message.payload.isEmpty {
            do {
                let state = try ServiceState(json: message.payload)
                guard state.id == source, state.role == .source else {
                    logger.warning("ignoring a source state naming another source", metadata: ["mqtt.topic": "\(message.topic)"])
                    return true
                }
                perform(machine.receiveSourceState(state, nowMs: nowMs))
            } catch {
                logger.warning("ignoring an unreadable source state", metadata: ["mqtt.topic": "\(message.topic)", "error": "\(error)"])
            }
            return true
        }
        return false
    }
}
