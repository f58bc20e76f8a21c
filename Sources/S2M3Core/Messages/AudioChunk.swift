/// What a message on `sources/{source}/audio` says about its chunk of sound, read from its MQTT 5
/// properties (docs/streams.md): 16 kHz 16-bit mono PCM, little-endian (as `arecord -f S16_LE`
/// and `ffmpeg -f s16le` write it), content type `audio/L16;rate=16000;channels=1`, the sequence
/// number (`s2m3-sequence`, counting up; a jump is chunks lost in transit) and the capture time of
/// the chunk's first sample (`s2m3-captured-ms`, Unix ms).
public struct AudioChunk: Sendable, Hashable {
    public static let sampleRate = 16_000
    /// The content type a microphone publishes with.
    public static let contentType = "audio/L16;rate=16000;channels=1"
    /// At most this many samples (2 s) per chunk; 0.5–1 s is the intended size.
    public static let maxSamples = 2 * sampleRate

    public var source: String
    public var sequence: Int
    public var capturedMs: Int
    /// Samples in the chunk (payload bytes / 2).
    public var sampleCount: Int

    public init(source: String, sequence: Int, capturedMs: Int, sampleCount: Int) {
        self.source = source
        self.sequence = sequence
        self.capturedMs = capturedMs
        self.sampleCount = sampleCount
    }

    /// Reads and checks the properties and size of a chunk received at `receivedMs`. A missing
    /// capture time is the receive time.
    public init(source: String, properties: MessageProperties, payloadBytes: Int, receivedMs: Int) throws(MessageError) {
        guard let declared = properties.contentType, Self.isAcceptedContentType(declared) else {
            let shown = properties.contentType.map { "'\(LimitsConfiguration.echo($0))'" } ?? "missing"
            throw MessageError(.unsupportedContentType, field: "contentType", "is \(shown); an audio chunk is \(Self.contentType) (16 kHz 16-bit mono PCM, little-endian)")
        }
        guard payloadBytes > 0, payloadBytes % 2 == 0 else {
            throw MessageError(.invalidField, field: "payload", "has \(payloadBytes) bytes; a chunk is a positive, even number of bytes (16-bit samples)")
        }
        guard payloadBytes <= 2 * Self.maxSamples else {
            throw MessageError(.payloadTooLarge, field: "payload", "has \(payloadBytes) bytes; at most \(2 * Self.maxSamples) (2 s of audio) per chunk")
        }
        guard let text = properties.userProperty(StreamFrame.sequenceName), let sequence = Int(text), sequence >= 0, sequence <= ValueRange.epoch.upperBound else {
            throw MessageError(.invalidField, field: StreamFrame.sequenceName, "must be a whole number 0–2^53 (the chunk's sequence number)")
        }
        var captured = receivedMs
        if let text = properties.userProperty(StreamFrame.capturedName) {
            guard let value = Int(text), ValueRange.timestampMs.contains(value) else {
                throw MessageError(.invalidField, field: StreamFrame.capturedName, "must be Unix milliseconds")
            }
            captured = value
        }
        self.init(source: source, sequence: sequence, capturedMs: captured, sampleCount: payloadBytes / 2)
    }

    /// Whether `contentType` is 16-bit PCM at 16 kHz, one channel: `audio/L16` with `rate=16000`
    /// and `channels=1` (or no `channels`, which means one), parameters in any order and case.
    public static func isAcceptedContentType(_ contentType: String) -> Bool {
        guard contentType.utf8.count <= 256 else { return false }
        let parts = contentType.split(separator: ";").map { String($0).trimmingWhitespace().lowercased() }
        guard parts.first == "audio/l16" else { return false }
        var parameters: [String: String] = [:]
        for part in parts.dropFirst() where !part.isEmpty {
            let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard pair.count == 2, parameters[pair[0]] == nil else { return false }
            parameters[pair[0]] = pair[1]
        }
        return parameters["rate"] == "16000" && (parameters["channels"] ?? "1") == "1"
    }

    /// The samples of a chunk's payload (little-endian 16-bit); an odd last byte is ignored.
    public static func samples(_ payload: [UInt8]) -> [Int16] {
        let count = payload.count / 2
        return [Int16](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                buffer[index] = Int16(bitPattern: UInt16(payload[2 * index]) | UInt16(payload[2 * index + 1]) << 8)
            }
            initialized = count
        }
    }

    /// The payload of `samples` (little-endian 16-bit).
    public static func payload(_ samples: some Collection<Int16>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(samples.count * 2)
        for sample in samples {
            let bits = UInt16(bitPattern: sample)
            bytes.append(UInt8(bits & 0xFF))
            bytes.append(UInt8(bits >> 8))
        }
        return bytes
    }

    /// `samples` as a 16 kHz mono 16-bit WAV file (what the speech tasks' `audio` input takes).
    public static func wav(_ samples: some Collection<Int16>) -> [UInt8] {
        let data = UInt32(samples.count * 2)
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
        var bytes = Array("RIFF".utf8) + le32(36 + data) + Array("WAVEfmt ".utf8)
        bytes += le32(16) + le16(1) + le16(1) + le32(UInt32(sampleRate)) + le32(UInt32(sampleRate * 2)) + le16(2) + le16(16)
        bytes += Array("data".utf8) + le32(data)
        return bytes + payload(samples)
    }

    /// The properties a microphone publishes a chunk with.
    public static func properties(sequence: Int, capturedMs: Int) -> MessageProperties {
        MessageProperties(
            contentType: contentType,
            userProperties: [.init(StreamFrame.sequenceName, String(sequence)), .init(StreamFrame.capturedName, String(capturedMs))])
    }
}
