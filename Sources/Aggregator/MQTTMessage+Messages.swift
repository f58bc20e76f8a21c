import MQTTBus
import S2M3Core

extension MQTTProperties {
    /// The bus's properties from S2M3's plain ones.
    init(_ properties: MessageProperties) {
        self.init(
            contentType: properties.contentType,
            userProperties: properties.userProperties.map { MQTTUserProperty($0.name, $0.value) },
            correlationData: properties.correlationData, responseTopic: properties.responseTopic,
            messageExpiry: properties.messageExpirySeconds)
    }
}

extension MessageProperties {
    /// S2M3's plain properties from the bus's.
    init(_ properties: MQTTProperties) {
        self.init(
            contentType: properties.contentType, responseTopic: properties.responseTopic,
            correlationData: properties.correlationData, messageExpirySeconds: properties.messageExpiry,
            userProperties: properties.userProperties.map { UserProperty($0.name, $0.value) })
    }
}

extension MQTTMessage {
    /// A JSON control message with the given S2M3 properties.
    init<Message: ControlMessage>(topic: String, control message: Message, properties: MessageProperties) throws {
        var bus = MQTTProperties(properties)
        bus.payloadFormatIndicatorUTF8 = true
        self.init(topic: topic, payload: try message.jsonBytes(), qos: .atLeastOnce, retain: false, properties: bus)
    }
}
