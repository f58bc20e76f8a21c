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
        try await publish([message])
    }

    /// Publishes `messages` in order without waiting between them (each leaves as soon as it is
    /// handed over, see ``send(_:acknowledged:)``), and returns when all are acknowledged. Throws
    /// the first failure, as ``publish(_:)`` would.
    public func publish(_ messages: [MQTTMessage]) async throws {
        try await core.publish(messages)
    }

    /// Hands `message` to libmosquitto and returns without waiting for the broker: messages sent
    /// one after another leave in that order, none waiting for an earlier one's acknowledgement
    /// (``publish(_:)`` waits for each). `acknowledged` runs exactly once: for QoS 0 before this
    /// returns, for QoS 1 and 2 when the broker acknowledged (nil) or refused, or when the
    /// connection is closed first (``MQTTError/Code/closed``). It runs on libmosquitto's network
    /// thread: keep it short. Throws, without calling it, what ``publish(_:)`` throws at once
    /// (``MQTTError/Code/payloadTooLarge``, ``MQTTError/Code/notConnected`` for QoS 0, closed).
    public func send(_ message: MQTTMessage, acknowledged: @escaping @Sendable (MQTTError?) -> Void = { _ in }) throws(MQTTError) {
        try core.send(message, acknowledged: acknowledged)
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
