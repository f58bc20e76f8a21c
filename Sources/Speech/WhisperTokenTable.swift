import Preprocessing

/// Whisper's byte-level BPE vocabulary, read from `whisper-tokens.txt` (made by the model set-up,
/// docs/models.md): line *i* is token *i*'s bytes in hex, or the special token's name (`<|…|>`).
public struct WhisperTokenTable: Sendable {
    /// Bytes of each ordinary token; nil for special tokens.
    private let bytes: [[UInt8]?]
    /// Special token names by id.
    public let specialTokens: [Int: String]

    public var count: Int { bytes.count }

    /// Parses the table's text. Throws `invalidVocabulary` naming the first bad line.
    public init(text: String, name: String = "whisper-tokens.txt") throws(PreprocessingError) {
        var bytes: [[UInt8]?] = []
        var special: [Int: String] = [:]
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        for (index, line) in lines.enumerated() {
            if line.hasPrefix("<|") {
                special[index] = String(line)
                bytes.append(nil)
                continue
            }
            guard let decoded = Self.hex(line) else {
                throw PreprocessingError(
                    .invalidVocabulary, "line \(index + 1) is neither hex bytes nor a special token", input: name)
            }
            bytes.append(decoded)
        }
        guard !bytes.isEmpty else { throw PreprocessingError(.invalidVocabulary, "the token table is empty", input: name) }
        self.bytes = bytes
        self.specialTokens = special
    }

    /// The id of a special token such as `<|endoftext|>`.
    public func id(ofSpecial name: String) -> Int? {
        specialTokens.first { $0.value == name }?.key
    }

    /// The text of `ids`: ordinary tokens' bytes joined and read as UTF-8; special tokens skipped.
    public func text(of ids: [Int]) -> String {
        var joined: [UInt8] = []
        for id in ids where id >= 0 && id < bytes.count {
            if let token = bytes[id] { joined += token }
        }
        return String(decoding: joined, as: UTF8.self)
    }

    private static func hex(_ line: Substring) -> [UInt8]? {
        let digits = Array(line.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
