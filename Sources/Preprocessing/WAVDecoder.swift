/// Decodes RIFF/WAVE bytes: PCM 8/16/24/32-bit integer or 32/64-bit IEEE float (also in
/// WAVE_FORMAT_EXTENSIBLE), 1–``maxChannels`` channels, mixed down to mono by averaging them.
///
/// The header is checked before anything is allocated: the sample rate must lie in
/// ``sampleRates``, the channel count and sample width must be sane, and the samples the data
/// chunk holds (never more than the file's own bytes) must not exceed `maxSeconds` of audio.
/// A float file with a NaN or infinite sample is refused.
public enum WAVDecoder {
    /// Sample rates accepted, Hz (telephone 8 kHz to studio 384 kHz, with room either side).
    public static let sampleRates: ClosedRange<Int> = 1_000...384_000
    /// Most channels accepted (WAVE_FORMAT_EXTENSIBLE names 18 speaker positions).
    public static let maxChannels = 64
    /// Default longest audio accepted, seconds.
    public static let defaultMaxSeconds = 600.0

    /// Decodes `bytes` into a mono signal at the file's own sample rate; `name` is reported in errors.
    ///
    /// - Throws: `emptyInput` (no bytes or no samples), `notWAV` (no RIFF/WAVE header),
    ///   `corruptAudio` (missing or inconsistent chunks, a rate or channel count out of range, a
    ///   NaN or infinite sample), `unsupportedAudio` (other encodings), `tooLarge` (more than
    ///   `maxSeconds` of audio).
    public static func decode(
        _ bytes: [UInt8], name: String = "audio", maxSeconds: Double = defaultMaxSeconds
    ) throws(PreprocessingError) -> AudioSignal {
        guard !bytes.isEmpty else { throw PreprocessingError(.emptyInput, "the audio has no bytes", input: name) }
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
            throw PreprocessingError(.notWAV, "not a WAV file (no RIFF/WAVE header); send audio/wav", input: name)
        }
        var format: Format?
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            let declared = Int(le32(bytes, offset + 4))
            let body = offset + 8
            let size = min(declared, bytes.count - body)  // streaming writers may overstate the data size
            if id == "fmt " {
                format = try Format(bytes, at: body, size: size, name: name)
            } else if id == "data" {
                guard let format else {
                    throw PreprocessingError(.corruptAudio, "the data chunk comes before the fmt chunk", input: name)
                }
                return try samples(bytes, at: body, size: size, format: format, name: name, maxSeconds: maxSeconds)
            }
            offset = body + declared + (declared & 1)  // declared < 2^32: no overflow
        }
        throw PreprocessingError(.corruptAudio, format == nil ? "no fmt chunk" : "no data chunk", input: name)
    }

    struct Format {
        enum Encoding { case integer, float }
        let encoding: Encoding
        let channels: Int
        let sampleRate: Int
        let bitsPerSample: Int

        init(_ bytes: [UInt8], at offset: Int, size: Int, name: String) throws(PreprocessingError) {
            guard size >= 16 else { throw PreprocessingError(.corruptAudio, "the fmt chunk is too short", input: name) }
            var tag = Int(le16(bytes, offset))
            channels = Int(le16(bytes, offset + 2))
            sampleRate = Int(le32(bytes, offset + 4))
            bitsPerSample = Int(le16(bytes, offset + 14))
            if tag == 0xFFFE && size >= 26 { tag = Int(le16(bytes, offset + 24)) }  // sub-format GUID's first two bytes
            switch (tag, bitsPerSample) {
            case (1, 8), (1, 16), (1, 24), (1, 32): encoding = .integer
            case (3, 32), (3, 64): encoding = .float
            default:
                throw PreprocessingError(
                    .unsupportedAudio,
                    "WAV format tag \(tag) with \(bitsPerSample) bits is not supported; use PCM 8/16/24/32-bit or float 32/64-bit",
                    input: name)
            }
            guard (1...WAVDecoder.maxChannels).contains(channels) else {
                throw PreprocessingError(
                    .corruptAudio, "the header says \(channels) channels; 1–\(WAVDecoder.maxChannels) are accepted", input: name)
            }
            guard WAVDecoder.sampleRates.contains(sampleRate) else {
                throw PreprocessingError(
                    .corruptAudio,
                    "the header says a sample rate of \(sampleRate) Hz; \(WAVDecoder.sampleRates.lowerBound)–\(WAVDecoder.sampleRates.upperBound) Hz are accepted",
                    input: name)
            }
        }
    }

    private static func samples(
        _ bytes: [UInt8], at offset: Int, size: Int, format: Format, name: String, maxSeconds: Double
    ) throws(PreprocessingError) -> AudioSignal {
        let width = format.bitsPerSample / 8
        let frameBytes = width * format.channels
        // `size` is at most the bytes left in the file, so `frames` is bounded by the file's size.
        let frames = size / frameBytes
        guard frames > 0 else { throw PreprocessingError(.emptyInput, "the WAV file has no samples", input: name) }
        let seconds = Double(frames) / Double(format.sampleRate)
        guard seconds <= maxSeconds else {
            throw PreprocessingError(
                .tooLarge, "the WAV file holds \(Int(seconds.rounded(.up))) s of audio; the limit is \(Int(maxSeconds)) s", input: name)
        }
        var mono = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(format.channels)
        bytes.withUnsafeBytes { raw in
            for frame in 0..<frames {
                var sum: Float = 0
                for channel in 0..<format.channels {
                    sum += sample(raw, offset + frame * frameBytes + channel * width, width, format.encoding)
                }
                mono[frame] = format.channels == 1 ? sum : sum * scale
            }
        }
        if format.encoding == .float, let bad = mono.firstIndex(where: { !$0.isFinite }) {
            throw PreprocessingError(
                .corruptAudio, "sample \(bad) is \(mono[bad]); audio samples must be finite numbers", input: name)
        }
        return AudioSignal(sampleRate: format.sampleRate, samples: mono)
    }

    @inline(__always)
    private static func sample(_ raw: UnsafeRawBufferPointer, _ at: Int, _ width: Int, _ encoding: Format.Encoding) -> Float {
        switch (encoding, width) {
        case (.integer, 1): return (Float(raw[at]) - 128) / 128
        case (.integer, 2): return Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int16.self))) / 32768
        case (.integer, 3):
            let value = Int32(raw[at]) << 8 | Int32(raw[at + 1]) << 16 | Int32(raw[at + 2]) << 24
            return Float(value >> 8) / 8_388_608
        case (.integer, _): return Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self))) / 2_147_483_648
        case (.float, 4): return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        case (.float, _): return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))))
        }
    }

    private static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
