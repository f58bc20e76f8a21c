/// One MQTT 5 user property. Order is kept and names may repeat.
public struct MQTTUserProperty: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The MQTT 5 properties of a PUBLISH (or a will) that S2M3 uses.
public struct MQTTProperties: Sendable, Hashable {
    /// MIME type of the payload, e.g. `application/json`.
    public var contentType: String?
    public var userProperties: [MQTTUserProperty]
    /// Opaque bytes that tie a reply to its request.
    public var correlationData: [UInt8]?
    /// Topic the receiver should reply on.
    public var responseTopic: String?
    /// Seconds after which the broker drops the message if it is not yet delivered. On receipt,
    /// the remaining lifetime.
    public var messageExpiry: UInt32?
    /// The payload is UTF-8 text (payload format indicator 1).
    public var payloadFormatIndicatorUTF8: Bool

    public init(
        contentType: String? = nil,
        userProperties: [MQTTUserProperty] = [],
        correlationData: [UInt8]? = nil,
        responseTopic: String? = nil,
        messageExpiry: UInt32? = nil,
        payloadFormatIndicatorUTF8: Bool = false
    ) {
        self.contentType = contentType
        self.userProperties = userProperties
        self.correlationData = correlationData
        self.responseTopic = responseTopic
        self.messageExpiry = messageExpiry
        self.payloadFormatIndicatorUTF8 = payloadFormatIndicatorUTF8
    }

    /// The value of the first user property called `name`.
    public func userProperty(_ name: String) -> String? {
        userProperties.first { $0.name == name }?.value
    }

    var isEmpty: Bool {
        contentType == nil && userProperties.isEmpty && correlationData == nil && responseTopic == nil
            && messageExpiry == nil && !payloadFormatIndicatorUTF8
    }
}

/// A message published or received, with its MQTT 5 properties.
public struct MQTTMessage: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    /// On publish: keep as the topic's retained message. On receipt: delivered from the retained store.
    public var retain: Bool
    public var properties: MQTTProperties

    public init(
        topic: String,
        payload: [UInt8],
        qos: MQTTQoS = .atLeastOnce,
        retain: Bool = false,
        properties: MQTTProperties = MQTTProperties()
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
    }

    /// A message with a UTF-8 text payload.
    public init(
        topic: String,
        string: String,
        qos: MQTTQoS = .atLeastOnce,
        retain: Bool = false,
        properties: MQTTProperties = MQTTProperties()
    ) {
        self.init(topic: topic, payload: Array(string.utf8), qos: qos, retain: retain, properties: properties)
    }

    /// The payload decoded as UTF-8 (invalid bytes repaired).
    public var payloadString: String { String(decoding: payload, as: UTF8.self) }
}
