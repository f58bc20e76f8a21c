/// A minimal PNG encoder for tests: 8-bit RGB, filter 0, one fixed-Huffman deflate block whose only
/// matches are runs of the previous byte (distance 1). Compact for mostly flat synthetic pages (a
/// white 3840×2160 page with text is well under a megabyte), so a large request stays realistic.
enum TestPNG {
    /// PNG bytes of `width`×`height` RGB pixels given row by row by `row(y, into:)` (`width * 3` bytes).
    static func encode(width: Int, height: Int, row: (Int, inout [UInt8]) -> Void) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * 3 + 1))
        var line = [UInt8](repeating: 0, count: width * 3)
        for y in 0..<height {
            row(y, &line)
            raw.append(0)
            raw += line
        }
        var header: [UInt8] = []
        for value in [UInt32(width), UInt32(height)] { header += bigEndian(value) }
        header += [8, 2, 0, 0, 0]
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", header)
        png += chunk("IDAT", [0x78, 0x01] + deflate(raw) + bigEndian(adler32(raw)))
        png += chunk("IEND", [])
        return png
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func deflate(_ data: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.write(1, bits: 1)  // BFINAL
        writer.write(1, bits: 2)  // BTYPE 01: fixed Huffman codes
        func symbol(_ s: Int) {
            switch s {
            case 0...143: writer.writeCode(0x30 + s, bits: 8)
            case 144...255: writer.writeCode(0x190 + s - 144, bits: 9)
            case 256...279: writer.writeCode(s - 256, bits: 7)
            default: writer.writeCode(0xC0 + s - 280, bits: 8)
            }
        }
        func match(_ length: Int) {  // lengths 3…10 (codes 257…264) or 258 (code 285); distance 1 (code 0)
            symbol(length == 258 ? 285 : 254 + length)
            writer.writeCode(0, bits: 5)
        }
        var i = 0
        while i < data.count {
            symbol(Int(data[i]))
            var run = 0
            while i + 1 + run < data.count, data[i + 1 + run] == data[i] { run += 1 }
            i += 1 + run
            while run >= 258 { match(258); run -= 258 }
            while run >= 10 { match(10); run -= 10 }
            if run >= 3 { match(run) } else { for _ in 0..<run { symbol(Int(data[i - 1])) } }
        }
        symbol(256)
        return writer.bytes()
    }

    private struct BitWriter {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, count: UInt32 = 0

        /// `bits` bits of `value`, least significant first (header fields, extra bits).
        mutating func write(_ value: Int, bits: Int) {
            buffer |= UInt32(value) << count
            count += UInt32(bits)
            while count >= 8 { out.append(UInt8(buffer & 0xFF)); buffer >>= 8; count -= 8 }
        }

        /// A Huffman code, most significant bit first.
        mutating func writeCode(_ code: Int, bits: Int) {
            var reversed = 0
            for b in 0..<bits where code & (1 << b) != 0 { reversed |= 1 << (bits - 1 - b) }
            write(reversed, bits: bits)
        }

        func bytes() -> [UInt8] { count > 0 ? out + [UInt8(buffer & 0xFF)] : out }
    }

    private static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
