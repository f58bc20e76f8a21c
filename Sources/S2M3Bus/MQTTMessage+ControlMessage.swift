import MQTTBus
import S2M3Core

extension MQTTMessage {
    /// A control-plane message as JSON with its MQTT 5 properties (content type, epoch …).
    public init<Message: ControlMessage>(topic: String, control message: Message, qos: MQTTQoS = .atLeastOnce, retain: Bool) throws {
        let properties = message.properties()
        self.init(
            topic: topic, payload: try message.jsonBytes(), qos: qos, retain: retain,
            properties: MQTTProperties(
                contentType: properties.contentType,
                userProperties: properties.userProperties.map { MQTTUserProperty($0.name, $0.value) },
                correlationData: properties.correlationData, responseTopic: properties.responseTopic,
                messageExpiry: properties.messageExpirySeconds, payloadFormatIndicatorUTF8: true))
    }
}
