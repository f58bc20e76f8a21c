import MQTTBus
import S2M3Core

extension MQTTMessage {
    /// A control-plane message as JSON (UTF-8) with its own MQTT 5 properties (content type, epoch …).
    public init<Message: ControlMessage>(
        topic: String, control message: Message, qos: MQTTQoS = .atLeastOnce, retain: Bool
    ) throws(MessageError) {
        try self.init(topic: topic, control: message, properties: message.properties(), qos: qos, retain: retain)
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
