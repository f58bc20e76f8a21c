/// The MQTT 5 properties S2M3 sets on a publish, as plain values (the services map them onto the
/// bus's own types). `topics.md` lists which topic uses which.
public struct MessageProperties: Sendable, Hashable {
    public struct UserProperty: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// User property carrying the request id (also in the correlation data).
    public static let requestIDName = "s2m3-request-id"
    /// User property carrying the plan epoch a message was routed under.
    public static let epochName = "s2m3-epoch"
    /// User property of an `overloaded` error: ms to wait before retrying (as its `retryAfterMs`).
    public static let retryAfterName = "retry-after-ms"
    /// W3C Trace Context, as the W3C MQTT binding names it.
    public static let traceparentName = "traceparent"
    public static let tracestateName = "tracestate"

    public var contentType: String?
    public var responseTopic: String?
    public var correlationData: [UInt8]?
    /// Seconds after which the broker discards the message if not yet delivered.
    public var messageExpirySeconds: UInt32?
    public var userProperties: [UserProperty]

    public init(
        contentType: String? = nil, responseTopic: String? = nil, correlationData: [UInt8]? = nil,
        messageExpirySeconds: UInt32? = nil, userProperties: [UserProperty] = []
    ) {
        self.contentType = contentType
        self.responseTopic = responseTopic
        self.correlationData = correlationData
        self.messageExpirySeconds = messageExpirySeconds
        self.userProperties = userProperties
    }

    /// The first user property with this name.
    public func userProperty(_ name: String) -> String? {
        userProperties.first { $0.name == name }?.value
    }

    /// The message expiry for a deadline: whole seconds left, rounded up, at least 1.
    public static func expirySeconds(untilMs deadlineMs: Int, nowMs: Int) -> UInt32 {
        let left = max(deadlineMs - nowMs, 0)
        return UInt32(clamping: max(1, (left + 999) / 1000))
    }

    /// The `traceparent` user property if it is well-formed, else nil.
    public static func validTraceparent(in properties: MessageProperties) -> String? {
        properties.userProperty(traceparentName).flatMap { MessageCheck.isTraceparent($0) ? $0 : nil }
    }

    /// The user properties every hop of a request carries.
    static func requestProperties(requestID: String, epoch: Int?, traceparent: String?) -> [UserProperty] {
        var out = [UserProperty(requestIDName, requestID)]
        if let epoch { out.append(UserProperty(epochName, String(epoch))) }
        if let traceparent { out.append(UserProperty(traceparentName, traceparent)) }
        return out
    }
}
