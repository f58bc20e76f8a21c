/// An MQTT failure: what went wrong, the libmosquitto code or MQTT 5 reason code behind it, and
/// what to check.
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. A struct (not an enum) so that kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No TCP connection to any endpoint (refused, unknown host, unreachable).
        public static let brokerUnreachable = Code("brokerUnreachable")
        /// The broker answered CONNECT with a refusal (bad credentials, not authorised, banned…).
        public static let connectionRefused = Code("connectionRefused")
        /// TLS set-up or handshake failed (CA, certificate, key, host name).
        public static let tlsFailure = Code("tlsFailure")
        /// An attempt did not finish within `connectTimeout`.
        public static let timeout = Code("timeout")
        /// The operation needs a connection and there is none.
        public static let notConnected = Code("notConnected")
        /// The broker refused a QoS ≥ 1 publish (reason code ≥ 0x80, e.g. 0x87 not authorised).
        public static let publishRefused = Code("publishRefused")
        /// The broker refused a subscription (reason code ≥ 0x80).
        public static let subscribeRefused = Code("subscribeRefused")
        /// The packet exceeds the broker's maximum packet size or MQTT's limit.
        public static let payloadTooLarge = Code("payloadTooLarge")
        /// A topic, filter, property or configuration value is not valid.
        public static let invalidArgument = Code("invalidArgument")
        /// The connection ended while the operation waited.
        public static let connectionLost = Code("connectionLost")
        /// ``MQTTConnection/disconnect(sendWill:)`` was called.
        public static let closed = Code("closed")
        /// Any other libmosquitto failure.
        public static let library = Code("library")
    }

    public var code: Code
    /// The libmosquitto return code (`MOSQ_ERR_…`), when one caused this.
    public var mosquittoCode: Int32?
    /// The MQTT 5 reason code from the broker, when one caused this.
    public var reasonCode: Int?
    /// What happened, the library's or broker's own words, and what to check.
    public var message: String

    public init(_ code: Code, _ message: String, mosquittoCode: Int32? = nil, reasonCode: Int? = nil) {
        self.code = code
        self.message = message
        self.mosquittoCode = mosquittoCode
        self.reasonCode = reasonCode
    }

    public var description: String {
        var text = "MQTT \(code): \(message)"
        if let mosquittoCode { text += " [mosquitto \(mosquittoCode)]" }
        if let reasonCode { text += " [reason 0x\(String(reasonCode, radix: 16, uppercase: true))]" }
        return text
    }
}
