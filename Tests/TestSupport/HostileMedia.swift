/// Media an attacker wrote (issue 10's reproducers), shared by the cluster tests and the fuzz seeds.
public enum HostileMedia {
    /// 48 bytes: a WAV header saying 0xFFFFFFFF samples per second.
    public static let wavRateFFFFFFFF: [UInt8] = Array("RIFF(\0\0\0WAVEfmt \u{10}\0\0\0\u{1}\0\u{1}\0".utf8)
        + [0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x10, 0x00] + Array("data".utf8) + [0x04, 0, 0, 0, 0x10, 0, 0x10, 0]

    /// A PNG whose header (with correct CRCs) says `width` × `height`; its one IDAT holds an empty
    /// zlib stream, so the pixels exist only in the header's claim.
    public static func png(width: Int, height: Int) -> [UInt8] {
        func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(data.count) + body + be32(Int(crc32(body)))
        }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
            + chunk("IEND", [])
    }

    /// CRC-32 (PNG's, ISO 3309).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
