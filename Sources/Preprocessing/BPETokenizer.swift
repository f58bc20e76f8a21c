import Foundation

/// A byte-level BPE tokenizer (CLIP's, GPT-2's): special tokens found in the raw text first, the rest
/// normalised and split into words (``TextPipeline``), each word byte-pair encoded (``ByteLevelBPE``),
/// framed by start/end tokens, truncated to ``Configuration/maxLength`` and optionally padded.
///
/// ``init(vocabularyFile:mergesFile:configuration:)`` is CLIP's tokenizer from its `vocab.json` and
/// `merges.txt` (ids equal transformers' `CLIPTokenizer`: NFC, whitespace runs to one space,
/// lowercase, CLIP's word pattern, `</w>` end-of-word suffix, `<|startoftext|> … <|endoftext|>`,
/// padded with `<|endoftext|>` to 77); ``HuggingFaceTokenizer`` builds other pipelines from a
/// `tokenizer.json`.
public struct BPETokenizer: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        /// Maximum tokens including the start and end tokens (CLIP's context length is 77).
        public var maxLength: Int
        /// Pad with the padding token (mask 0) up to `maxLength`.
        public var padToMaxLength: Bool

        public init(maxLength: Int = 77, padToMaxLength: Bool = true) {
            self.maxLength = maxLength
            self.padToMaxLength = padToMaxLength
        }

        /// CLIP's: 77 tokens, padded.
        public static let clip = Configuration()
    }

    /// The framing and special tokens of a tokenizer, by id.
    struct Specials: Sendable {
        /// Tokens matched in the raw text before normalisation (`tokenizers`' added tokens).
        var added: [String: Int64] = [:]
        var prefix: [Int64] = []
        var suffix: [Int64] = []
        var pad: Int64 = 0

        /// `prefix + content + suffix`, the content truncated to fit `maxLength`, padded when asked;
        /// and the attention mask.
        func framed(_ content: [Int64], configuration: Configuration) -> (ids: [Int64], mask: [Int64]) {
            let budget = max(0, configuration.maxLength - prefix.count - suffix.count)
            var ids = prefix + content.prefix(budget) + suffix
            var mask = [Int64](repeating: 1, count: ids.count)
            if configuration.padToMaxLength && ids.count < configuration.maxLength {
                let padding = configuration.maxLength - ids.count
                ids += [Int64](repeating: pad, count: padding)
                mask += [Int64](repeating: 0, count: padding)
            }
            return (ids, mask)
        }
    }

    public let configuration: Configuration
    let model: ByteLevelBPE
    let pipeline: TextPipeline
    let specials: Specials
    /// The id that pads (CLIP: `<|endoftext|>`).
    public var padID: Int64 { specials.pad }
    private let tokensByID: [Int64: String]

    init(model: ByteLevelBPE, pipeline: TextPipeline, specials: Specials, configuration: Configuration,
         name: String) throws(PreprocessingError) {
        guard configuration.maxLength > specials.prefix.count + specials.suffix.count else {
            throw PreprocessingError(.invalidConfiguration, "maxLength must leave room for the start and end tokens", input: name)
        }
        self.model = model
        self.pipeline = pipeline
        self.specials = specials
        self.configuration = configuration
        var tokens: [Int64: String] = [:]
        for (token, id) in model.vocabulary { tokens[id] = token }
        for (token, id) in specials.added { tokens[id] = token }
        tokensByID = tokens
    }

    /// CLIP's tokenizer from `vocab.json` (token → id) and `merges.txt` (`#version` line, then one
    /// merge `left right` per line, best first). Throws `invalidVocabulary` when a file is unreadable
    /// or lacks `<|startoftext|>`/`<|endoftext|>`.
    public init(vocabularyFile: String, mergesFile: String, configuration: Configuration = .clip) throws(PreprocessingError) {
        let vocabulary = try Self.vocabulary(file: vocabularyFile)
        let merges = try Self.merges(file: mergesFile)
        guard let start = vocabulary["<|startoftext|>"], let end = vocabulary["<|endoftext|>"] else {
            throw PreprocessingError(.invalidVocabulary, "no <|startoftext|> or <|endoftext|> token; is it CLIP's vocab.json?", input: vocabularyFile)
        }
        let pattern = try TextPipeline.Pattern(regex: Self.clipPattern)
        try self.init(
            model: ByteLevelBPE(vocabulary: vocabulary, ranks: Self.ranks(merges), endOfWordSuffix: "</w>", unknown: end),
            pipeline: TextPipeline(
                normalizations: [.nfc, .replace(try TextPipeline.Pattern(regex: #"\s+"#), with: " "), .lowercase],
                preTokenizations: [.split(pattern, invert: true, removeMatches: true), .byteLevel(addPrefixSpace: false, useRegex: true)]),
            specials: Specials(added: ["<|startoftext|>": start, "<|endoftext|>": end], prefix: [start], suffix: [end], pad: end),
            configuration: configuration, name: vocabularyFile)
    }

    /// CLIP's word pattern (transformers' `CLIPTokenizer`).
    static let clipPattern = #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#

    /// Ids and attention mask of one text (`tokenTypeIDs` all 0).
    public func encode(_ text: String) -> TokenizedText {
        let budget = configuration.maxLength - specials.prefix.count - specials.suffix.count
        var content: [Int64] = []
        for segment in Self.segments(text, specials: specials.added) where content.count < budget {
            switch segment {
            case .special(let id): content.append(id)
            case .text(let raw):
                for word in pipeline.words(pipeline.normalized(raw)) where content.count < budget {
                    content += model.ids(of: word)
                }
            }
        }
        let (ids, mask) = specials.framed(content, configuration: configuration)
        return TokenizedText(ids: ids, attentionMask: mask, tokenTypeIDs: [Int64](repeating: 0, count: ids.count),
                             tokens: ids.map { tokensByID[$0] ?? "" })
    }

    enum Segment: Equatable {
        case text(String)
        case special(Int64)
    }

    /// `text` split at the special tokens it contains (leftmost first, the longest at one position).
    static func segments(_ text: String, specials: [String: Int64]) -> [Segment] {
        var out: [Segment] = []
        var rest = text[...]
        while !rest.isEmpty {
            var best: (range: Range<String.Index>, id: Int64)?
            for (token, id) in specials {
                guard let range = rest.range(of: token) else { continue }
                if best == nil || range.lowerBound < best!.range.lowerBound
                    || (range.lowerBound == best!.range.lowerBound && range.upperBound > best!.range.upperBound) {
                    best = (range, id)
                }
            }
            guard let best else { break }
            if best.range.lowerBound > rest.startIndex { out.append(.text(String(rest[..<best.range.lowerBound]))) }
            out.append(.special(best.id))
            rest = rest[best.range.upperBound...]
        }
        if !rest.isEmpty { out.append(.text(String(rest))) }
        return out
    }

    static func ranks(_ merges: [(String, String)]) -> [String: Int] {
        var ranks: [String: Int] = [:]
        for (rank, merge) in merges.enumerated() where ranks[merge.0 + " " + merge.1] == nil {
            ranks[merge.0 + " " + merge.1] = rank
        }
        return ranks
    }

    static func vocabulary(file path: String) throws(PreprocessingError) -> [String: Int64] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PreprocessingError(.invalidVocabulary, "cannot read a JSON object of token ids; check the path", input: path)
        }
        return try vocabulary(object, name: path)
    }

    /// Token → id from a JSON object; ids must be whole numbers from 0 below 2^31.
    static func vocabulary(_ object: [String: Any], name: String) throws(PreprocessingError) -> [String: Int64] {
        var vocabulary: [String: Int64] = [:]
        vocabulary.reserveCapacity(object.count)
        for (token, value) in object {
            guard let number = value as? NSNumber, let id = Int64(exactly: number.doubleValue), (0..<(1 << 31)).contains(id) else {
                throw PreprocessingError(.invalidVocabulary, "the id of '\(token)' is not a whole number from 0", input: name)
            }
            vocabulary[token] = id
        }
        guard !vocabulary.isEmpty else { throw PreprocessingError(.invalidVocabulary, "the vocabulary is empty", input: name) }
        return vocabulary
    }

    static func merges(file path: String) throws(PreprocessingError) -> [(String, String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PreprocessingError(.invalidVocabulary, "cannot read the merges file; check the path", input: path)
        }
        var merges: [(String, String)] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#version") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw PreprocessingError(.invalidVocabulary, "the merge '\(line.prefix(40))' is not two symbols", input: path)
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }
}
