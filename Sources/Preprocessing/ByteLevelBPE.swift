/// The byte-pair-encoding model of GPT-2 and CLIP, as Hugging Face `tokenizers`' `BPE` runs it on one
/// pre-tokenised word: the word's UTF-8 bytes as printable characters (``byteCharacters``), the last
/// one carrying the end-of-word suffix (CLIP's `</w>`), merged pair by pair, lowest merge rank first,
/// then looked up in the vocabulary.
struct ByteLevelBPE: Sendable {
    let vocabulary: [String: Int64]
    /// Rank of each merge (its line in `merges.txt`), keyed by `left + " " + right`.
    let ranks: [String: Int]
    let endOfWordSuffix: String
    /// The id of symbols the vocabulary lacks; `nil` drops them (as `tokenizers` does without `unk_token`).
    let unknown: Int64?

    /// GPT-2's reversible byte → printable character table: printable Latin-1 bytes stand for
    /// themselves, the others for U+0100 onwards, in byte order.
    static let byteCharacters: [Character] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var table = [Character](repeating: " ", count: 256)
        for byte in printable { table[byte] = Character(Unicode.Scalar(UInt8(byte))) }
        var next: UInt32 = 256
        for byte in 0..<256 where !printable.contains(byte) {
            table[byte] = Character(Unicode.Scalar(next)!)
            next += 1
            printable.append(byte)
        }
        return table
    }()

    /// The ids of one word (already split by the pre-tokenizers; its raw text, not byte-mapped).
    func ids(of word: String) -> [Int64] {
        var symbols = word.utf8.map { String(Self.byteCharacters[Int($0)]) }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += endOfWordSuffix
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(symbols.count - 1) {
                if let rank = ranks[symbols[i] + " " + symbols[i + 1]], rank < best?.rank ?? .max {
                    best = (rank, i)
                }
            }
            guard let best else { break }
            symbols[best.index] += symbols[best.index + 1]
            symbols.remove(at: best.index + 1)
        }
        return symbols.compactMap { vocabulary[$0] ?? unknown }
    }
}
