/// `planners/{planner}/state` and `aggregators/{aggregator}/state` (retained): whether a planner or
/// an aggregator is online, the way ``DeviceState`` says it for a device. The service publishes
/// `online` after connecting and registers an `offline` copy (same session, reason `last-will`) as
/// its MQTT last will; on a graceful shutdown it publishes `offline` (reason `shutdown`) itself.
public struct ServiceState: ControlMessage {
    public static let schema = "s2m3.service-state/1"

    /// Which kind of service; it names the topic's first level (`planners/…`, `aggregators/…`).
    public enum Role: String, MessageEnum {
        case planner, aggregator
        /// A camera or microphone (`sources/{source}/state`, docs/streams.md).
        case source
    }

    public var role: Role
    /// The service's id (the `{planner}` or `{aggregator}` level of the topic).
    public var id: String
    public var status: DeviceState.Status
    /// A fresh id for each run of the service.
    public var session: String
    /// When this state was produced (for a will: when the will was registered), Unix ms.
    public var timestampMs: Int
    /// Why the service is offline: `last-will` or `shutdown`.
    public var reason: String?

    public init(role: Role, id: String, status: DeviceState.Status, session: String, timestampMs: Int, reason: String? = nil) {
        self.role = role
        self.id = id
        self.status = status
        self.session = session
        self.timestampMs = timestampMs
        self.reason = reason
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(id, "id")
        try MessageCheck.requestID(session, "session")
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
        if let reason { try MessageCheck.nonEmpty(reason, "reason", maxLength: 256) }
    }
}
