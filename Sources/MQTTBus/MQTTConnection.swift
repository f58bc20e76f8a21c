import Logging

/// An MQTT 5 client connection over libmosquitto.
///
/// libmosquitto's network work runs on a dedicated thread per connection, never on the
/// cooperative pool. After the first successful ``connect()``, a lost connection is re-established
/// automatically (capped exponential back-off, endpoints in turn) and subscriptions are restored.
///
/// ```swift
/// let connection = MQTTConnection(configuration: .init(endpoints: [endpoint], clientID: "planner-1"), logger: logger)
/// try await connection.connect()
/// try await connection.subscribe("s2m3/v1/devices/+/state")
/// for await message in connection.messages { … }
/// ```
public final class MQTTConnection: Sendable {
    private let core: ConnectionCore

    public init(configuration: MQTTConfiguration, logger: Logger) {
        core = ConnectionCore(configuration: configuration, logger: logger)
    }

    deinit { core.requestStop(sendWill: false) }

    public var configuration: MQTTConfiguration { core.configuration }

    /// Connects, trying each endpoint in turn; returns on the first accepted CONNACK.
    /// Throws ``MQTTError`` (unreachable, refused, TLS, timeout) when no endpoint accepts.
    /// Calling it while connected returns at once; while reconnecting, waits for the reconnect.
    public func connect() async throws { try await core.connect() }

    /// Publishes `message`. QoS 0 returns once queued (and throws ``MQTTError/Code/notConnected``
    /// while the connection is down). QoS 1 and 2 return when the broker acknowledged (PUBACK /
    /// PUBCOMP), waiting through a reconnect if needed, and throw
    /// ``MQTTError/Code/publishRefused`` on a refusal (e.g. 0x87 not authorised). Throws
    /// ``MQTTError/Code/payloadTooLarge`` above the broker's maximum packet size.
    public func publish(_ message: MQTTMessage) async throws {
        try await core.publish(message)
        core.metrics.sent(payloadBytes: message.payload.count)
    }

    /// Subscribes to `filter` (wildcards and `$share/group/…` allowed) and returns on SUBACK.
    /// The subscription is restored after every reconnect.
    public func subscribe(_ filter: String, qos: MQTTQoS = .atLeastOnce) async throws {
        try await core.subscribe(filter, qos: qos)
    }

    /// Removes a subscription (and stops restoring it).
    public func unsubscribe(_ filter: String) async throws { try await core.unsubscribe(filter) }

    /// Inbound messages with all their properties. See ``MQTTMessageStream`` for consumers.
    public var messages: MQTTMessageStream { MQTTMessageStream(buffer: core.messages) }

    /// Connected / lost / reconnected events.
    public var events: MQTTEventStream { MQTTEventStream(buffer: core.events) }

    /// Whether a connection is established right now.
    public var isConnected: Bool { core.isConnected }

    /// Disconnects cleanly and stops reconnecting. With `sendWill`, the broker publishes the will
    /// (reason 0x04). Pending operations fail with ``MQTTError/Code/closed``; `messages` and
    /// `events` end. The connection cannot be used again.
    public func disconnect(sendWill: Bool = false) async { await core.disconnect(sendWill: sendWill) }
}
