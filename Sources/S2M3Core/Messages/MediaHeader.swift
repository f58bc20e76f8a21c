/// What the header of an encoded image or WAV file says, read without decoding anything: the
/// aggregator checks it against ``LimitsConfiguration`` before any device is asked (the devices'
/// decoders check the same again before they allocate). Pure; every read is bounds-checked.
public enum MediaHeader {
    /// WAV sample rates accepted, Hz (the same bounds as Preprocessing's `WAVDecoder.sampleRates`).
    public static let wavSampleRates: ClosedRange<Int> = 1_000...384_000
    /// WAV channel counts accepted (as `WAVDecoder.maxChannels`).
    public static let wavChannels: ClosedRange<Int> = 1...64

    /// Width and height from a PNG's IHDR chunk or a JPEG's first start-of-frame marker; nil when
    /// the header cannot be read (the decoder then says why).
    public static func imageSize(of bytes: [UInt8]) -> (width: Int, height: Int)? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            guard bytes.count >= 24, bytes[12..<16].elementsEqual("IHDR".utf8) else { return nil }
            return (be32(bytes, 16), be32(bytes, 20))
        }
        guard bytes.starts(with: [0xFF, 0xD8]) else { return nil }
        var offset = 2
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { return nil }
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0x01 || (0xD0...0xD9).contains(marker) { offset += 2; continue }  // no length
            let length = be16(bytes, offset + 2)
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard offset + 9 <= bytes.count else { return nil }
                return (be16(bytes, offset + 7), be16(bytes, offset + 5))
            }
            guard length >= 2 else { return nil }
            offset += 2 + length
        }
        return nil
    }

    /// The `fmt ` fields of a WAV file and how many frames its data chunk holds (counting only
    /// bytes the file has); nil when there is no readable `fmt ` and `data`.
    public struct WAVFormat: Sendable, Hashable {
        public var channels: Int
        public var sampleRate: Int
        public var bitsPerSample: Int
        public var frames: Int

        /// Duration in seconds (0 for a rate of 0).
        public var seconds: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
    }

    public static func wavFormat(of bytes: [UInt8]) -> WAVFormat? {
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        var format: (channels: Int, rate: Int, bits: Int)?
        var offset = 12
        while offset + 8 <= bytes.count {
            let declared = le32(bytes, offset + 4)  // < 2^32: the sums below cannot overflow
            let body = offset + 8
            let size = min(declared, bytes.count - body)
            if bytes[offset..<(offset + 4)].elementsEqual("fmt ".utf8) {
                guard size >= 16 else { return nil }
                format = (le16(bytes, body + 2), le32(bytes, body + 4), le16(bytes, body + 14))
            } else if bytes[offset..<(offset + 4)].elementsEqual("data".utf8) {
                guard let format else { return nil }
                let frameBytes = max(1, format.bits / 8) * max(1, format.channels)
                return WAVFormat(channels: format.channels, sampleRate: format.rate, bitsPerSample: format.bits, frames: size / frameBytes)
            }
            offset = body + declared + (declared & 1)
        }
        return nil
    }

    private static func be16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    private static func be32(_ b: [UInt8], _ i: Int) -> Int { be16(b, i) << 16 | be16(b, i + 2) }
    private static func le16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ i: Int) -> Int { le16(b, i) | le16(b, i + 2) << 16 }
}
