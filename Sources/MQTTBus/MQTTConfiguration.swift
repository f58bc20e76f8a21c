/// TLS settings for a connection: the CA that signed the broker's certificate and, for mutual TLS,
/// the client's own certificate and key (PEM files).
public struct MQTTTLSConfiguration: Sendable, Hashable {
    /// PEM file with the CA certificate(s) trusted to sign the broker's certificate.
    public var caFile: String
    /// PEM client certificate, for brokers that require one.
    public var certFile: String?
    /// PEM private key of `certFile` (unencrypted).
    public var keyFile: String?
    /// The name the broker's certificate must carry when it differs from the host connected to
    /// (e.g. connecting by IP address to a broker whose certificate names `broker.example`).
    /// `nil`: the endpoint's host.
    public var serverName: String?
    /// Accept a broker certificate whose name does not match the host. Testing only.
    public var insecureSkipHostnameCheck: Bool

    public init(
        caFile: String, certFile: String? = nil, keyFile: String? = nil, serverName: String? = nil,
        insecureSkipHostnameCheck: Bool = false
    ) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecureSkipHostnameCheck = insecureSkipHostnameCheck
    }
}

/// Everything an ``MQTTConnection`` needs. MQTT 5 only.
public struct MQTTConfiguration: Sendable {
    /// Broker addresses, tried in turn on connect and on every reconnect.
    public var endpoints: [MQTTEndpoint]
    /// Client identifier; unique per broker (a second client with the same id takes the session over).
    public var clientID: String
    /// Start a new session on every (re)connect. With `false`, set ``sessionExpiry`` too, or the
    /// broker keeps no session.
    public var cleanStart: Bool = true
    /// Seconds the broker keeps the session after the connection ends (`nil`: 0, ends with it).
    public var sessionExpiry: UInt32?
    /// Keep-alive in seconds (minimum 5). A silently dead link is noticed after about 1.5×.
    public var keepAlive: Int = 10
    public var username: String?
    public var password: String?
    public var tls: MQTTTLSConfiguration?
    /// Message the broker publishes if this client disappears without a clean disconnect.
    public var will: MQTTMessage?
    /// First delay before a reconnect attempt; doubled after each failure up to ``reconnectDelayMax``.
    public var reconnectDelay: Duration = .milliseconds(200)
    public var reconnectDelayMax: Duration = .seconds(5)
    /// Time allowed for one attempt: TCP connect, TLS handshake and CONNACK.
    public var connectTimeout: Duration = .seconds(5)

    public init(
        endpoints: [MQTTEndpoint],
        clientID: String,
        cleanStart: Bool = true,
        sessionExpiry: UInt32? = nil,
        keepAlive: Int = 10,
        username: String? = nil,
        password: String? = nil,
        tls: MQTTTLSConfiguration? = nil,
        will: MQTTMessage? = nil,
        reconnectDelay: Duration = .milliseconds(200),
        reconnectDelayMax: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(5)
    ) {
        self.endpoints = endpoints
        self.clientID = clientID
        self.cleanStart = cleanStart
        self.sessionExpiry = sessionExpiry
        self.keepAlive = keepAlive
        self.username = username
        self.password = password
        self.tls = tls
        self.will = will
        self.reconnectDelay = reconnectDelay
        self.reconnectDelayMax = reconnectDelayMax
        self.connectTimeout = connectTimeout
    }
}
