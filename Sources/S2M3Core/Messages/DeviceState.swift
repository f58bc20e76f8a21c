/// `devices/{device}/state` (retained): whether a device agent is online. The agent publishes
/// `online` after connecting and registers an `offline` copy (same session, reason `last-will`)
/// as its MQTT last will, so the broker marks it offline the moment its connection dies.
public struct DeviceState: ControlMessage {
    public static let schema = "s2m3.device-state/1"

    public enum Status: String, MessageEnum {
        case online, offline
    }

    public var device: String
    public var status: Status
    /// A fresh id for each run of the agent, so a restart is told apart from the same run (and a
    /// late will of an earlier session from the current state).
    public var session: String
    /// When this state was produced (for a will: when the will was registered), Unix ms.
    public var timestampMs: Int
    /// Why the device is offline: `last-will` or `shutdown`; free text otherwise.
    public var reason: String?

    public init(device: String, status: Status, session: String, timestampMs: Int, reason: String? = nil) {
        self.device = device
        self.status = status
        self.session = session
        self.timestampMs = timestampMs
        self.reason = reason
    }

    /// `reason` of the offline state registered as the agent's last will.
    public static let lastWillReason = "last-will"
    /// `reason` of the offline state an agent publishes itself when it stops cleanly.
    public static let shutdownReason = "shutdown"

    /// The offline state to register as the last will of an agent run (same session).
    public static func lastWill(device: String, session: String, timestampMs: Int) -> DeviceState {
        DeviceState(device: device, status: .offline, session: session, timestampMs: timestampMs, reason: lastWillReason)
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(device, "device")
        try MessageCheck.requestID(session, "session")
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
        if let reason { try MessageCheck.nonEmpty(reason, "reason", maxLength: 256) }
    }
}
