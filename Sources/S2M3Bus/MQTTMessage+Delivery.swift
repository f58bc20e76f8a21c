import MQTTBus
import S2M3Core

/// Every S2M3 publication is built here, with the QoS and retain flag topics.md gives its topic's
/// pattern (``Topics/delivery``), so no publisher types them by hand (a repository test checks).
extension MQTTMessage {
    /// A control-plane message as JSON (UTF-8) on `topic`, with its own MQTT 5 properties (content
    /// type, epoch …). Throws when `topic` is of no pattern of `topics`.
    public init<Message: ControlMessage>(topic: String, control message: Message, on topics: Topics) throws(MessageError) {
        try self.init(topic: topic, control: message, properties: message.properties(), on: topics)
    }

    /// A control-plane message as JSON (UTF-8) on `topic` with the given S2M3 properties (e.g. a
    /// result's correlation data). Throws when `topic` is of no pattern of `topics`.
    public init<Message: ControlMessage>(
        topic: String, control message: Message, properties: MessageProperties, on topics: Topics
    ) throws(MessageError) {
        try self.init(topic: topic, payload: message.jsonBytes(), properties: MQTTProperties(properties, utf8: true), on: topics)
    }

    /// A data-plane message (an invocation or a partial bundle, a request) on `topic`. Throws when
    /// `topic` is of no pattern of `topics`.
    public init(topic: String, payload: [UInt8], properties: MQTTProperties, on topics: Topics) throws(MessageError) {
        self.init(topic: topic, payload: payload, properties: properties, delivery: try Self.delivery(of: topic, on: topics))
    }

    /// A control-plane answer (a result or an error) on a requester's MQTT 5 response topic, which
    /// the requester chose and need not be of any pattern: delivered as `clients/{client}/replies`.
    public init<Message: ControlMessage>(responseTopic: String, control message: Message, properties: MessageProperties) throws(MessageError) {
        self.init(responseTopic: responseTopic, payload: try message.jsonBytes(), properties: MQTTProperties(properties, utf8: true))
    }

    /// Any answer on a requester's MQTT 5 response topic, delivered as `clients/{client}/replies`.
    public init(responseTopic: String, payload: [UInt8], properties: MQTTProperties) {
        self.init(topic: responseTopic, payload: payload, properties: properties, delivery: Topics.responseDelivery)
    }

    /// An empty payload on a retained topic: clears what the broker keeps there (e.g. the assignment
    /// of a device that left the plan).
    /// A batch of commands to Mosquitto's dynamic-security plugin (outside the root), with
    /// ``Topics/dynamicSecurityDelivery``.
    public static func dynamicSecurityCommands(_ payload: [UInt8]) -> MQTTMessage {
        MQTTMessage(topic: Topics.dynamicSecurityCommands, payload: payload, properties: MQTTProperties(), delivery: Topics.dynamicSecurityDelivery)
    }

    public static func clearing(_ topic: String, on topics: Topics) throws(MessageError) -> MQTTMessage {
        let delivery = try delivery(of: topic, on: topics)
        guard delivery.retained else {
            throw MessageError(.invalidField, field: "topic", "\(topic) is not retained; there is nothing to clear")
        }
        return MQTTMessage(topic: topic, payload: [], properties: MQTTProperties(), delivery: delivery)
    }

    private init(topic: String, payload: [UInt8], properties: MQTTProperties, delivery: Topics.Delivery) {
        self.init(topic: topic, payload: payload, qos: MQTTQoS(delivery), retain: delivery.retained, properties: properties)
    }

    static func delivery(of topic: String, on topics: Topics) throws(MessageError) -> Topics.Delivery {
        guard let delivery = topics.delivery(of: topic) else {
            throw MessageError(.invalidField, field: "topic", "\(topic) is of no topic pattern under \(topics.root) (topics.md)")
        }
        return delivery
    }
}

extension MQTTQoS {
    /// The QoS of a ``Topics/Delivery`` (topics.md uses 0 and 1).
    init(_ delivery: Topics.Delivery) {
        self = delivery.qos == 0 ? .atMostOnce : .atLeastOnce
    }
}

extension MQTTConnection {
    /// Subscribes to `filter` (a topic of `topics`, `+` standing for a `{name}` level) with the
    /// QoS of its pattern, so a subscriber gets what publishers send. Throws `MessageError` when
    /// `filter` is of no pattern.
    public func subscribe(_ filter: String, on topics: Topics) async throws {
        try await subscribe(filter, qos: MQTTQoS(try MQTTMessage.delivery(of: filter, on: topics)))
    }
}
