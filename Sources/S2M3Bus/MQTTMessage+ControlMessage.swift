import MQTTBus
import S2M3Core

extension MQTTMessage {
    /// A control-plane message as JSON (UTF-8) with its own MQTT 5 properties (content type, epoch …).
    public init<Message: ControlMessage>(
        topic: String, control message: Message, qos: MQTTQoS = .atLeastOnce, retain: Bool
    ) throws(MessageError) {
        try self.init(topic: topic, control: message, properties: message.properties(), qos: qos, retain: retain)
    }

    /// A control-plane message as JSON (UTF-8) on `topic`, with the QoS and retain flag topics.md
    /// gives its pattern (``Topics/delivery``), so no publisher types them by hand. Throws when
    /// `topic` is of no pattern of `topics`.
    public init<Message: ControlMessage>(topic: String, control message: Message, on topics: Topics) throws(MessageError) {
        let delivery = try Self.delivery(of: topic, on: topics)
        try self.init(
            topic: topic, control: message, qos: delivery.qos == 0 ? .atMostOnce : .atLeastOnce, retain: delivery.retained)
    }

    /// An empty payload on a retained topic: clears what the broker keeps there (e.g. the assignment
    /// of a device that left the plan).
    public static func clearing(_ topic: String, on topics: Topics) throws(MessageError) -> MQTTMessage {
        let delivery = try delivery(of: topic, on: topics)
        guard delivery.retained else {
            throw MessageError(.invalidField, field: "topic", "\(topic) is not retained; there is nothing to clear")
        }
        return MQTTMessage(topic: topic, payload: [], qos: .atLeastOnce, retain: true)
    }

    static func delivery(of topic: String, on topics: Topics) throws(MessageError) -> Topics.Delivery {
        guard let delivery = topics.delivery(of: topic) else {
            throw MessageError(.invalidField, field: "topic", "\(topic) is of no topic pattern under \(topics.root) (topics.md)")
        }
        return delivery
    }

    /// A control-plane message as JSON (UTF-8) with the given S2M3 properties (e.g. a result's
    /// correlation data and response topic).
    public init<Message: ControlMessage>(
        topic: String, control message: Message, properties: MessageProperties, qos: MQTTQoS = .atLeastOnce, retain: Bool = false
    ) throws(MessageError) {
        self.init(
            topic: topic, payload: try message.jsonBytes(), qos: qos, retain: retain,
            properties: MQTTProperties(properties, utf8: true))
    }
}
