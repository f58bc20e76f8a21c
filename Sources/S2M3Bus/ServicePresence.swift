import Foundation
import MQTTBus
import S2M3Core

/// Who a planner or an aggregator is on the bus (topics.md, `planners/{planner}/state`,
/// `aggregators/{aggregator}/state`): builds its retained state messages, the last will to
/// register on its connection, and its telemetry topic. One value per run of the service (the
/// session is fresh for each).
public struct ServicePresence: Sendable, Hashable {
    public let role: ServiceState.Role
    public let id: String
    public let session: String
    public let topics: Topics

    public init(role: ServiceState.Role, id: String, session: String = UUID().uuidString.lowercased(), topics: Topics) {
        self.role = role
        self.id = id
        self.session = session
        self.topics = topics
    }

    /// The retained state topic.
    public var stateTopic: String {
        switch role {
        case .planner: topics.plannerState(id)
        case .aggregator: topics.aggregatorState(id)
        case .source: topics.sourceState(id)
        }
    }

    /// The telemetry topic.
    public var telemetryTopic: String {
        switch role {
        case .planner: topics.plannerTelemetry(id)
        case .aggregator: topics.aggregatorTelemetry(id)
        // A source publishes no telemetry: its stream's is the aggregator's
        // (`aggregators/{aggregator}/streams/{source}`); never called for one.
        case .source: topics.streamTelemetry(id, source: id)
        }
    }

    /// The retained state message: `online`, or `offline` with a reason.
    public func state(_ status: DeviceState.Status, reason: String? = nil) throws(MessageError) -> MQTTMessage {
        let state = ServiceState(role: role, id: id, status: status, session: session, timestampMs: Self.nowMs(), reason: reason)
        return try MQTTMessage(topic: stateTopic, control: state, on: topics)
    }

    /// The last will to register on the service's connection: `offline`, reason `last-will`.
    public func will() throws(MessageError) -> MQTTMessage {
        try state(.offline, reason: DeviceState.lastWillReason)
    }

    /// The `offline` state a service publishes itself before it disconnects on graceful shutdown.
    public func shutdown() throws(MessageError) -> MQTTMessage {
        try state(.offline, reason: DeviceState.shutdownReason)
    }

    /// A telemetry message (QoS 0, not retained, with the message's own expiry).
    public func telemetry<Message: ControlMessage>(_ message: Message) throws(MessageError) -> MQTTMessage {
        try MQTTMessage(topic: telemetryTopic, control: message, on: topics)
    }

    /// Now, Unix ms.
    public static func nowMs() -> Int { WallClock.milliseconds }
}
