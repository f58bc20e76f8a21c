import MQTTBus
import S2M3Core

extension MQTTProperties {
    /// The bus's properties for S2M3's plain ones.
    init(_ properties: MessageProperties, utf8: Bool = false) {
        self.init(
            contentType: properties.contentType,
            userProperties: properties.userProperties.map { MQTTUserProperty($0.name, $0.value) },
            correlationData: properties.correlationData, responseTopic: properties.responseTopic,
            messageExpiry: properties.messageExpirySeconds, payloadFormatIndicatorUTF8: utf8)
    }

    /// S2M3's plain properties for the bus's (to read bundles and their metadata).
    var plain: MessageProperties {
        MessageProperties(
            contentType: contentType, responseTopic: responseTopic, correlationData: correlationData,
            messageExpirySeconds: messageExpiry,
            userProperties: userProperties.map { MessageProperties.UserProperty($0.name, $0.value) })
    }
}

extension MQTTMessage {
    /// A control-plane message as JSON with its properties, QoS and retain flag from `Topics.delivery`.
    static func agentControl<Message: ControlMessage>(
        topic: String, _ message: Message, qos: MQTTQoS = .atLeastOnce, retain: Bool
    ) throws(MessageError) -> MQTTMessage {
        MQTTMessage(
            topic: topic, payload: try message.jsonBytes(), qos: qos, retain: retain,
            properties: MQTTProperties(message.properties(), utf8: true))
    }
}
