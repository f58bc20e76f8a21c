import MQTTBus
import S2M3Core

// S2M3's plain MQTT 5 properties (`MessageProperties`, S2M3Core knows no bus) and the bus's
// (`MQTTProperties`), converted in the one place every service and test uses.

extension MQTTProperties {
    /// The bus's properties from S2M3's plain ones; `utf8` sets the payload format indicator.
    public init(_ properties: MessageProperties, utf8: Bool = false) {
        self.init(
            contentType: properties.contentType,
            userProperties: properties.userProperties.map { MQTTUserProperty($0.name, $0.value) },
            correlationData: properties.correlationData, responseTopic: properties.responseTopic,
            messageExpiry: properties.messageExpirySeconds, payloadFormatIndicatorUTF8: utf8)
    }
}

extension MessageProperties {
    /// S2M3's plain properties from the bus's (to read bundles, requests and their metadata).
    public init(_ properties: MQTTProperties) {
        self.init(
            contentType: properties.contentType, responseTopic: properties.responseTopic,
            correlationData: properties.correlationData, messageExpirySeconds: properties.messageExpiry,
            userProperties: properties.userProperties.map { UserProperty($0.name, $0.value) })
    }
}
