import PlacementGenerators

/// Derives hostile inputs from real ones, reproducibly: the same seed gives the same sequence of
/// inputs on every machine (SplitMix64, no system randomness). Each input takes one to four
/// mutations of a corpus entry: bit flips, bytes set to extremes, truncation, splicing with another
/// entry, deleted or repeated ranges, little- and big-endian extreme integers written at random
/// offsets, and (in text) digit runs replaced by extreme numbers.
struct Mutator {
    private(set) var random: SplitMix64
    let corpus: [[UInt8]]

    init(seed: UInt64, corpus: [[UInt8]]) {
        precondition(!corpus.isEmpty, "a harness needs at least one seed input")
        random = SplitMix64(seed: seed)
        self.corpus = corpus
    }

    /// Numbers that have broken parsers before: sizes, offsets, rates and counts at their edges.
    static let extremeNumbers: [String] = [
        "0", "-1", "1", "-0", "255", "256", "65535", "65536", "2147483647", "2147483648", "-2147483649",
        "4294967295", "4294967296", "9007199254740993", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "18446744073709551615", "18446744073709551616", "1e308", "1e309", "-1e309",
        "1.5", "0.0000001", "1e-400", "NaN", "Infinity", "99999999999999999999999999999999",
    ]
    static let extremeWords: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ]

    mutating func next() -> [UInt8] {
        var bytes = pick()
        let rounds = int(1...4)
        for _ in 0..<rounds { mutate(&bytes) }
        return bytes
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int { random.int(in: range) }
    private mutating func pick() -> [UInt8] { corpus[int(0...(corpus.count - 1))] }
    /// An offset in `bytes`, biased towards the first 64 bytes, where headers live.
    private mutating func offset(in bytes: [UInt8]) -> Int {
        let limit = bytes.count - 1
        return int(0...1) == 0 ? int(0...min(limit, 63)) : int(0...limit)
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        if bytes.isEmpty { bytes = pick(); if bytes.isEmpty { bytes = [0]; return } }
        switch int(0...9) {
        case 0:  // flip one to eight bits
            for _ in 0..<int(1...8) {
                let at = offset(in: bytes)
                bytes[at] ^= 1 << UInt8(int(0...7))
            }
        case 1:  // a byte at an extreme
            let at = offset(in: bytes)
            bytes[at] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF][int(0...5)]
        case 2:  // truncate
            bytes.removeSubrange(int(0...(bytes.count - 1))...)
        case 3:  // splice: a prefix of this input and a suffix of another
            let other = pick()
            let cut = int(0...bytes.count)
            let from = other.isEmpty ? 0 : int(0...(other.count - 1))
            bytes = Array(bytes[..<cut]) + other[from...]
        case 4:  // delete a range
            let start = offset(in: bytes)
            let end = min(bytes.count, start + int(1...64))
            bytes.removeSubrange(start..<end)
        case 5:  // repeat a range (bounded growth)
            guard bytes.count < 1 << 20 else { bytes.removeLast(bytes.count / 2); return }
            let start = offset(in: bytes)
            let end = min(bytes.count, start + int(1...256))
            let chunk = bytes[start..<end]
            bytes.insert(contentsOf: Array(repeating: chunk, count: int(1...16)).flatMap { $0 }, at: start)
        case 6, 7:  // an extreme integer, 2, 4 or 8 bytes, either byte order
            let word = Self.extremeWords[int(0...(Self.extremeWords.count - 1))]
            let width = [2, 4, 8][int(0...2)]
            let bigEndian = int(0...1) == 1
            let at = offset(in: bytes)
            for index in 0..<width where at + index < bytes.count {
                let shift = UInt64(8 * (bigEndian ? width - 1 - index : index))
                bytes[at + index] = UInt8(truncatingIfNeeded: word >> shift)
            }
        default:  // a digit run (in JSON, a header, metadata) replaced by an extreme number
            replaceNumber(&bytes)
        }
    }

    private mutating func replaceNumber(_ bytes: inout [UInt8]) {
        let isDigit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        // Within a 1 KiB window (a header, usually): scanning a whole image per input is slow.
        let low = offset(in: bytes) & ~1023
        let window = low..<min(bytes.count, low + 1024)
        let starts = window.filter { isDigit(bytes[$0]) && ($0 == 0 || !isDigit(bytes[$0 - 1])) }
        let number = Array(Self.extremeNumbers[int(0...(Self.extremeNumbers.count - 1))].utf8)
        guard !starts.isEmpty else {
            bytes.insert(contentsOf: number, at: offset(in: bytes))
            return
        }
        let start = starts[int(0...(starts.count - 1))]
        var end = start
        while end < bytes.count, isDigit(bytes[end]) || bytes[end] == UInt8(ascii: ".") { end += 1 }
        bytes.replaceSubrange(start..<end, with: number)
    }
}
