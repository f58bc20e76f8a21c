import Foundation
import Inference

/// BERT's WordPiece tokenizer (uncased by default): ``BertNormalizer`` words, greedy longest-match
/// sub-words from a `vocab.txt` (continuations prefixed `##`, words longer than 100 characters or
/// with no match become `[UNK]`), `[CLS] … [SEP]`, truncated to ``Configuration/maxLength``.
/// Matches Hugging Face `tokenizers` with a BERT `tokenizer.json` (e.g. all-MiniLM-L6-v2's).
public struct WordPieceTokenizer: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        /// Maximum tokens including `[CLS]` and `[SEP]`.
        public var maxLength: Int
        /// Pad with `[PAD]` (mask 0) up to `maxLength` instead of returning only the real tokens.
        public var padToMaxLength: Bool
        public var lowercase: Bool
        /// `nil`: strip accents when lowercasing (BERT's default).
        public var stripAccents: Bool?
        public var maxCharactersPerWord: Int

        public init(maxLength: Int = 256, padToMaxLength: Bool = false, lowercase: Bool = true,
                    stripAccents: Bool? = nil, maxCharactersPerWord: Int = 100) {
            self.maxLength = maxLength
            self.padToMaxLength = padToMaxLength
            self.lowercase = lowercase
            self.stripAccents = stripAccents
            self.maxCharactersPerWord = maxCharactersPerWord
        }
    }

    public let configuration: Configuration
    private let vocabulary: [String: Int64]
    private let tokensByID: [String]
    private let normalizer: BertNormalizer
    private let cls: Int64, sep: Int64, unk: Int64, pad: Int64

    /// `vocabulary[i]` is the token with id `i`. Throws `invalidVocabulary` when `[CLS]`, `[SEP]`,
    /// `[UNK]` or `[PAD]` is missing, `invalidConfiguration` when `maxLength` < 2.
    public init(vocabulary: [String], configuration: Configuration = .init(), name: String = "vocabulary") throws(PreprocessingError) {
        guard configuration.maxLength >= 2 else {
            throw PreprocessingError(.invalidConfiguration, "maxLength must leave room for [CLS] and [SEP]", input: name)
        }
        var ids: [String: Int64] = [:]
        for (id, token) in vocabulary.enumerated() where ids[token] == nil { ids[token] = Int64(id) }
        func special(_ token: String) throws(PreprocessingError) -> Int64 {
            guard let id = ids[token] else {
                throw PreprocessingError(.invalidVocabulary, "the vocabulary has no \(token) token; is it a BERT vocab.txt?", input: name)
            }
            return id
        }
        cls = try special("[CLS]")
        sep = try special("[SEP]")
        unk = try special("[UNK]")
        pad = try special("[PAD]")
        self.configuration = configuration
        self.vocabulary = ids
        tokensByID = vocabulary
        normalizer = BertNormalizer(
            lowercase: configuration.lowercase, stripAccents: configuration.stripAccents ?? configuration.lowercase)
    }

    /// Reads a `vocab.txt` (one token per line, id = line number).
    public init(vocabularyFile path: String, configuration: Configuration = .init()) throws(PreprocessingError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PreprocessingError(.invalidVocabulary, "cannot read the vocabulary file; check the path", input: path)
        }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabulary: lines, configuration: configuration, name: path)
    }

    /// The word pieces of `text`, without special tokens or truncation.
    public func wordPieces(_ text: String) -> [String] {
        normalizer.words(text).flatMap { pieces(of: $0) }.map { tokensByID[Int($0)] }
    }

    var padID: Int64 { pad }

    /// The token of `id` ("" when out of range).
    func token(of id: Int64) -> String {
        tokensByID.indices.contains(Int(id)) ? tokensByID[Int(id)] : ""
    }

    /// The ids of `text`'s word pieces, without special tokens or truncation.
    func contentIDs(_ text: String) -> [Int64] {
        normalizer.words(text).flatMap { pieces(of: $0) }
    }

    /// Token ids, attention mask and token type ids of one text (`[CLS] text [SEP]`), or of a pair
    /// (`[CLS] text [SEP] pair [SEP]`, type ids 1 for the second part), truncated to
    /// ``Configuration/maxLength`` the way Hugging Face's `LongestFirst` strategy does.
    public func encode(_ text: String, pair: String? = nil) -> TokenizedText {
        let first = normalizer.words(text).flatMap { pieces(of: $0) }
        var ids: [Int64], types: [Int64]
        if let pair {
            let second = normalizer.words(pair).flatMap { pieces(of: $0) }
            let (n1, n2) = Self.longestFirst(first.count, second.count, budget: configuration.maxLength - 3)
            ids = [cls] + first.prefix(n1) + [sep] + second.prefix(n2) + [sep]
            types = [Int64](repeating: 0, count: n1 + 2) + [Int64](repeating: 1, count: n2 + 1)
        } else {
            ids = [cls] + first.prefix(configuration.maxLength - 2) + [sep]
            types = [Int64](repeating: 0, count: ids.count)
        }
        var mask = [Int64](repeating: 1, count: ids.count)
        if configuration.padToMaxLength && ids.count < configuration.maxLength {
            let padding = configuration.maxLength - ids.count
            ids += [Int64](repeating: pad, count: padding)
            mask += [Int64](repeating: 0, count: padding)
            types += [Int64](repeating: 0, count: padding)
        }
        return TokenizedText(ids: ids, attentionMask: mask, tokenTypeIDs: types, tokens: ids.map { tokensByID[Int($0)] })
    }

    /// Lengths kept of two sequences under `budget` tokens (Hugging Face `tokenizers`' LongestFirst).
    static func longestFirst(_ count1: Int, _ count2: Int, budget: Int) -> (Int, Int) {
        guard count1 + count2 > budget else { return (count1, count2) }
        let budget = max(0, budget)
        let swapped = count1 > count2
        var (n1, n2) = swapped ? (count2, count1) : (count1, count2)
        n2 = n1 > budget ? n1 : max(n1, budget - n1)
        if n1 + n2 > budget {
            n1 = budget / 2
            n2 = n1 + budget % 2
        }
        return swapped ? (n2, n1) : (n1, n2)
    }

    /// Greedy longest-match-first sub-words of one word.
    private func pieces(of word: String) -> [Int64] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > configuration.maxCharactersPerWord { return [unk] }
        var out: [Int64] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int64?
            while start < end {
                var piece = start > 0 ? "##" : ""
                piece.unicodeScalars.append(contentsOf: scalars[start..<end])
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let found else { return [unk] }
            out.append(found)
            start = end
        }
        return out
    }
}

/// The encoding of one text: the inputs of a BERT-style model.
public struct TokenizedText: Sendable, Equatable {
    public let ids: [Int64]
    public let attentionMask: [Int64]
    /// 0 for the first text (with `[CLS]` and its `[SEP]`), 1 for the second of a pair.
    public let tokenTypeIDs: [Int64]
    /// The tokens, for reading and debugging.
    public let tokens: [String]

    /// `input_ids`, `attention_mask`, `token_type_ids`, each int64 `[1, count]`.
    public var tensors: [String: Tensor] {
        // The value counts equal the shapes' element counts by construction.
        [
            "input_ids": try! Tensor(int64: ids, shape: [1, ids.count]),
            "attention_mask": try! Tensor(int64: attentionMask, shape: [1, ids.count]),
            "token_type_ids": try! Tensor(int64: tokenTypeIDs, shape: [1, ids.count]),
        ]
    }
}
