/// What a message on `sources/{source}/frames` says about its frame, read from its MQTT 5
/// properties (docs/streams.md): the content type (`image/jpeg` or `image/png`), the sequence
/// number (`s2m3-sequence`, counting up from any start) and the capture time (`s2m3-captured-ms`,
/// Unix ms); the message expiry is the frame's useful life.
public struct StreamFrame: Sendable, Hashable {
    public static let sequenceName = "s2m3-sequence"
    public static let capturedName = "s2m3-captured-ms"
    /// Default useful life of a frame whose message has no expiry, ms.
    public static let defaultLifeMs = 2_000

    public var source: String
    public var sequence: Int
    public var contentType: String
    public var capturedMs: Int
    /// After this the frame is of no use (dropped unprocessed), Unix ms.
    public var expiresMs: Int

    public init(source: String, sequence: Int, contentType: String, capturedMs: Int, expiresMs: Int) {
        self.source = source
        self.sequence = sequence
        self.contentType = contentType
        self.capturedMs = capturedMs
        self.expiresMs = expiresMs
    }

    /// Reads and checks the properties of a frame received at `receivedMs`; the image bytes are
    /// checked by whoever decodes them. A missing capture time is the receive time.
    public init(source: String, properties: MessageProperties, payloadBytes: Int, receivedMs: Int) throws(MessageError) {
        guard payloadBytes > 0 else { throw MessageError(.missingField, field: "payload", "a frame has image bytes") }
        let type = properties.contentType.map(MediaType.normalize)
        guard let type, type == MediaType.jpeg || type == MediaType.png else {
            throw MessageError(.invalidField, field: "contentType", "is \(properties.contentType.map { "'\(LimitsConfiguration.echo($0))'" } ?? "missing"); a frame is image/jpeg or image/png")
        }
        guard let text = properties.userProperty(Self.sequenceName), let sequence = Int(text), sequence >= 0, sequence <= ValueRange.epoch.upperBound else {
            throw MessageError(.invalidField, field: Self.sequenceName, "must be a whole number 0–2^53 (the frame's sequence number)")
        }
        var captured = receivedMs
        if let text = properties.userProperty(Self.capturedName) {
            guard let value = Int(text), ValueRange.timestampMs.contains(value) else {
                throw MessageError(.invalidField, field: Self.capturedName, "must be Unix milliseconds")
            }
            captured = value
        }
        let life = properties.messageExpirySeconds.map { Int($0) * 1000 } ?? Self.defaultLifeMs
        self.init(source: source, sequence: sequence, contentType: type, capturedMs: captured, expiresMs: receivedMs + life)
    }

    /// The properties a camera publishes a frame with.
    public static func properties(contentType: String, sequence: Int, capturedMs: Int, lifeMs: Int) -> MessageProperties {
        MessageProperties(
            contentType: contentType, messageExpirySeconds: UInt32(clamping: max(1, (lifeMs + 999) / 1000)),
            userProperties: [.init(sequenceName, String(sequence)), .init(capturedName, String(capturedMs))])
    }
}
