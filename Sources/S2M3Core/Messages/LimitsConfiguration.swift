/// The limits a service checks before it does any work for a request (topics.md, "Limits";
/// docs/aggregator.md). Each exceeded limit is an explicit error naming the limit, never a crash,
/// an allocation the device cannot afford, or silence.
///
/// The aggregator checks everything it can read from the request itself (sizes, counts, string
/// lengths, image and WAV headers) and its own memory (`maxInFlightBytes`); devices check pixels
/// and audio again from the headers before decoding, so an invocation from elsewhere is held to
/// the same bounds. The defaults suit the 2-core, 264 MiB-per-device reference cluster.
public struct LimitsConfiguration: Sendable, Hashable {
    /// Largest request payload, bytes (16 MiB; the broker's own packet limit must be higher).
    /// Over it: `payload-too-large`.
    public var maxPayloadBytes = 16 << 20
    /// Payload bytes of all requests one aggregator has in flight together (64 MiB: four requests
    /// of the largest size). A request that would go past it is answered `overloaded` at once,
    /// before it is parsed, so a burst cannot exhaust the aggregator's memory (60 requests of
    /// 8 MiB took it from 31 MB to 539 MB).
    public var maxInFlightBytes = 64 << 20
    /// Inputs (tensors, texts, media) in one request (64). Over it: `malformed-request`.
    public var maxInputs = 64
    /// UTF-8 bytes of one text input, and of each string of a `texts` input (64 KiB). Over it:
    /// `bad-input`.
    public var maxTextBytes = 64 << 10
    /// Strings in one `texts` input (1,024). Over it: `bad-input`.
    public var maxTexts = 1_024
    /// Pixels (width × height) of one image, read from its JPEG or PNG header before it is
    /// decoded (4096 × 4096). Over it: `bad-input`.
    public var maxImagePixels = 4096 * 4096
    /// Seconds of one WAV file, read from its header before it is decoded (600). Over it: `bad-input`.
    public var maxAudioSeconds = 600.0

    public init() {}

    /// Characters of a value an error message repeats (an id, a name); longer ones are cut with
    /// "…" so an error always fits its own 4,096-byte `reason`.
    public static let maxEchoedCharacters = 64

    /// Checks that every limit is positive; names the first one that is not.
    public func validate() throws(MessageError) {
        for (name, value) in [
            ("maxPayloadBytes", maxPayloadBytes), ("maxInFlightBytes", maxInFlightBytes), ("maxInputs", maxInputs),
            ("maxTextBytes", maxTextBytes), ("maxTexts", maxTexts), ("maxImagePixels", maxImagePixels),
        ] where value < 1 {
            throw MessageError(.invalidField, field: name, "is \(value); must be at least 1")
        }
        guard maxAudioSeconds.isFinite, maxAudioSeconds > 0 else {
            throw MessageError(.invalidField, field: "maxAudioSeconds", "is \(maxAudioSeconds); must be a finite number > 0")
        }
    }

    /// `text` as an error message may repeat it: at most ``maxEchoedCharacters`` characters, cut
    /// with "…" and the full length when longer.
    public static func echo(_ text: String) -> String {
        guard text.count > maxEchoedCharacters else { return text }
        return "\(text.prefix(maxEchoedCharacters))… (\(text.utf8.count) bytes)"
    }
}
