#if canImport(Glibc)
import Glibc
#endif

/// The test signals of scripts/golden/engine_audio.py, rebuilt bit-identically, and a WAV writer.
enum TestSignals {
    struct Definition: Decodable {
        let rate: Int; let count: Int; let freqs: [Double]; let amps: [Double]; let phase: Double
        let noise: Int; let seed: UInt64
    }

    /// PCM16 samples: sum of sines rounded half-to-even, plus 32-bit LCG noise, clipped.
    static func pcm16(_ d: Definition) -> [Int16] {
        var state = d.seed
        return (0..<d.count).map { n in
            var v = 0.0
            for (f, a) in zip(d.freqs, d.amps) {
                v += a * sin(2 * Double.pi * f * Double(n) / Double(d.rate) + d.phase)
            }
            var noise = 0
            if d.noise > 0 {
                state = (state &* 1_664_525 &+ 1_013_904_223) & 0xFFFF_FFFF
                noise = Int((state >> 8) % UInt64(2 * d.noise + 1)) - d.noise
            }
            return Int16(clamping: Int(v.rounded(.toNearestOrEven)) + noise)
        }
    }

    static func littleEndian(_ samples: [Int16]) -> [UInt8] {
        samples.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
    }

    /// A canonical WAV file: `fmt ` (tag, channels, rate, bits) and `data` with interleaved frames.
    static func wav(formatTag: UInt16 = 1, channels: Int, rate: Int, bits: Int, data: [UInt8], extensible: Bool = false) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16 & 0xFFFF) }
        let blockAlign = channels * bits / 8
        var fmt = le16(extensible ? 0xFFFE : Int(formatTag)) + le16(channels) + le32(rate) + le32(rate * blockAlign)
            + le16(blockAlign) + le16(bits)
        if extensible {
            // cbSize, valid bits, channel mask, sub-format GUID (tag + KSDATAFORMAT suffix).
            fmt += le16(22) + le16(bits) + le32(0) + le16(Int(formatTag))
                + [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        }
        var body = Array("WAVE".utf8) + Array("fmt ".utf8) + le32(fmt.count) + fmt
        body += Array("LIST".utf8) + le32(5) + Array("INFOx".utf8) + [0]  // odd chunk with pad byte
        body += Array("data".utf8) + le32(data.count) + data
        return Array("RIFF".utf8) + le32(body.count) + body
    }
}
