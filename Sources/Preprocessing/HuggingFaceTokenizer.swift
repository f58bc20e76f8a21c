import Foundation

/// A tokenizer read from a Hugging Face `tokenizer.json`, so most text encoders plug in without code:
///
/// - model `WordPiece` with normalizer `BertNormalizer` and pre-tokenizer `BertPreTokenizer` (BERT,
///   MiniLM, …): ``WordPieceTokenizer``;
/// - model `BPE` with a `ByteLevel` pre-tokenizer (CLIP, GPT-2, RoBERTa, …): ``BPETokenizer``, with
///   normalizers `NFC`/`NFD`/`NFKC`/`NFKD`/`Lowercase`/`Replace`/`Strip` and pre-tokenizers
///   `Split`/`ByteLevel`/`Whitespace`/`WhitespaceSplit` (in `Sequence`s).
///
/// Added tokens are matched in the raw text; the post-processor (`BertProcessing`,
/// `RobertaProcessing`, `TemplateProcessing` for single texts) gives the start and end tokens; the
/// file's `truncation.max_length` and `padding.pad_id` are the defaults. Anything else is
/// `unsupportedTokenizer`, naming what.
public struct HuggingFaceTokenizer: Sendable {
    enum Model: Sendable {
        case bpe(BPETokenizer)
        case wordPiece(WordPieceTokenizer, BPETokenizer.Specials)
    }

    let model: Model
    public let configuration: BPETokenizer.Configuration

    /// Reads `path`. `maxLength` (tokens including start and end) defaults to the file's truncation
    /// length, else 512; `padToMaxLength` pads with the file's padding id (else `[PAD]` or 0).
    public init(file path: String, maxLength: Int? = nil, padToMaxLength: Bool = false) throws(PreprocessingError) {
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = json["model"] as? [String: Any] else {
            throw PreprocessingError(.invalidVocabulary, "cannot read a tokenizer.json (a JSON object with a model); check the path", input: path)
        }
        let truncation = (json["truncation"] as? [String: Any])?["max_length"] as? Int
        let padID = ((json["padding"] as? [String: Any])?["pad_id"] as? Int).map(Int64.init)
        let configuration = BPETokenizer.Configuration(maxLength: maxLength ?? truncation ?? 512, padToMaxLength: padToMaxLength)
        let reader = Reader(json: json, name: path)
        var specials = try reader.specials()
        switch model["type"] as? String {
        case "BPE":
            specials.pad = padID ?? 0
            self.model = .bpe(try reader.bpe(model, specials: specials, configuration: configuration))
        case "WordPiece":
            let wordPiece = try reader.wordPiece(model, configuration: configuration)
            specials.pad = padID ?? wordPiece.padID
            self.model = .wordPiece(wordPiece, specials)
        case let other:
            throw PreprocessingError(.unsupportedTokenizer, "model type \(other ?? "none") (supported: BPE, WordPiece)", input: path)
        }
        guard configuration.maxLength > specials.prefix.count + specials.suffix.count else {
            throw PreprocessingError(.invalidConfiguration, "maxLength must leave room for the start and end tokens", input: path)
        }
        self.configuration = configuration
    }

    /// The id that pads a batch (the file's `padding.pad_id`, else `[PAD]` or 0).
    public var padID: Int64 {
        switch model {
        case .bpe(let tokenizer): tokenizer.specials.pad
        case .wordPiece(_, let specials): specials.pad
        }
    }

    /// Ids and attention mask of one text (`tokenTypeIDs` all 0).
    public func encode(_ text: String) -> TokenizedText {
        switch model {
        case .bpe(let tokenizer):
            return tokenizer.encode(text)
        case .wordPiece(let tokenizer, let specials):
            var content: [Int64] = []
            let budget = configuration.maxLength - specials.prefix.count - specials.suffix.count
            for segment in BPETokenizer.segments(text, specials: specials.added) where content.count < budget {
                switch segment {
                case .special(let id): content.append(id)
                case .text(let raw): content += tokenizer.contentIDs(raw)
                }
            }
            let (ids, mask) = specials.framed(content, configuration: configuration)
            return TokenizedText(ids: ids, attentionMask: mask, tokenTypeIDs: [Int64](repeating: 0, count: ids.count),
                                 tokens: ids.map { tokenizer.token(of: $0) })
        }
    }
}

/// Reading the parts of a `tokenizer.json`.
private struct Reader {
    let json: [String: Any]
    let name: String

    func unsupported(_ what: String) -> PreprocessingError {
        PreprocessingError(.unsupportedTokenizer, what + " (see docs/own-models.md for what is supported)", input: name)
    }

    /// Added tokens, and the start/end tokens of the post-processor.
    func specials() throws(PreprocessingError) -> BPETokenizer.Specials {
        var specials = BPETokenizer.Specials()
        for case let token as [String: Any] in json["added_tokens"] as? [Any] ?? [] {
            guard let content = token["content"] as? String, !content.isEmpty, let id = token["id"] as? Int, id >= 0 else {
                throw PreprocessingError(.invalidVocabulary, "an added token without content or id", input: name)
            }
            specials.added[content] = Int64(id)
        }
        try frame(json["post_processor"], into: &specials)
        return specials
    }

    private func frame(_ processor: Any?, into specials: inout BPETokenizer.Specials) throws(PreprocessingError) {
        guard let processor = processor as? [String: Any] else { return }
        func pair(_ key: String) throws(PreprocessingError) -> Int64 {
            guard let pair = processor[key] as? [Any], pair.count == 2, let id = pair[1] as? Int, id >= 0 else {
                throw PreprocessingError(.invalidVocabulary, "post_processor.\(key) is not [token, id]", input: name)
            }
            return Int64(id)
        }
        switch processor["type"] as? String {
        case "BertProcessing", "RobertaProcessing":
            specials.prefix = [try pair("cls")]
            specials.suffix = [try pair("sep")]
        case "TemplateProcessing":
            let known = processor["special_tokens"] as? [String: Any] ?? [:]
            var before: [Int64] = [], after: [Int64] = [], seenSequence = false
            for case let piece as [String: Any] in processor["single"] as? [Any] ?? [] {
                if piece["Sequence"] != nil { seenSequence = true; continue }
                guard let special = piece["SpecialToken"] as? [String: Any], let key = special["id"] as? String,
                      let ids = (known[key] as? [String: Any])?["ids"] as? [Int] else {
                    throw PreprocessingError(.invalidVocabulary, "a TemplateProcessing piece names no known special token", input: name)
                }
                if seenSequence { after += ids.map(Int64.init) } else { before += ids.map(Int64.init) }
            }
            specials.prefix = before
            specials.suffix = after
        case "Sequence":
            for step in processor["processors"] as? [Any] ?? [] { try frame(step, into: &specials) }
        case "ByteLevel":
            break  // offsets only
        case let other:
            throw unsupported("post_processor \(other ?? "without a type")")
        }
    }

    func bpe(_ model: [String: Any], specials: BPETokenizer.Specials,
             configuration: BPETokenizer.Configuration) throws(PreprocessingError) -> BPETokenizer {
        guard let vocabularyObject = model["vocab"] as? [String: Any], let mergeList = model["merges"] as? [Any] else {
            throw PreprocessingError(.invalidVocabulary, "model BPE without vocab or merges", input: name)
        }
        if (model["continuing_subword_prefix"] as? String ?? "") != "" { throw unsupported("BPE continuing_subword_prefix") }
        if model["byte_fallback"] as? Bool == true { throw unsupported("BPE byte_fallback") }
        if model["ignore_merges"] as? Bool == true { throw unsupported("BPE ignore_merges") }
        let vocabulary = try BPETokenizer.vocabulary(vocabularyObject, name: name)
        var merges: [(String, String)] = []
        for merge in mergeList {
            if let text = merge as? String, case let parts = text.split(separator: " "), parts.count == 2 {
                merges.append((String(parts[0]), String(parts[1])))
            } else if let parts = merge as? [String], parts.count == 2 {
                merges.append((parts[0], parts[1]))
            } else {
                throw PreprocessingError(.invalidVocabulary, "a BPE merge is not two symbols", input: name)
            }
        }
        let preTokenizations = try preTokenizations(json["pre_tokenizer"])
        guard preTokenizations.contains(where: { if case .byteLevel = $0 { true } else { false } }) else {
            throw unsupported("BPE without a ByteLevel pre-tokenizer")
        }
        let unknown = (model["unk_token"] as? String).flatMap { vocabulary[$0] ?? specials.added[$0] }
        return try BPETokenizer(
            model: ByteLevelBPE(vocabulary: vocabulary, ranks: BPETokenizer.ranks(merges),
                                endOfWordSuffix: model["end_of_word_suffix"] as? String ?? "", unknown: unknown),
            pipeline: TextPipeline(normalizations: try normalizations(json["normalizer"]), preTokenizations: preTokenizations),
            specials: specials, configuration: configuration, name: name)
    }

    func wordPiece(_ model: [String: Any], configuration: BPETokenizer.Configuration) throws(PreprocessingError) -> WordPieceTokenizer {
        guard let vocabularyObject = model["vocab"] as? [String: Any] else {
            throw PreprocessingError(.invalidVocabulary, "model WordPiece without vocab", input: name)
        }
        if (model["continuing_subword_prefix"] as? String ?? "##") != "##" { throw unsupported("WordPiece prefix other than ##") }
        let normalizer = json["normalizer"] as? [String: Any]
        guard normalizer?["type"] as? String == "BertNormalizer" else { throw unsupported("WordPiece without a BertNormalizer") }
        guard (json["pre_tokenizer"] as? [String: Any])?["type"] as? String == "BertPreTokenizer" else {
            throw unsupported("WordPiece without a BertPreTokenizer")
        }
        let ids = try BPETokenizer.vocabulary(vocabularyObject, name: name)
        guard let largest = ids.values.max(), largest < 1 << 24 else {
            throw PreprocessingError(.invalidVocabulary, "WordPiece ids above 2^24", input: name)
        }
        var vocabulary = [String](repeating: "", count: Int(largest) + 1)
        for (token, id) in ids { vocabulary[Int(id)] = token }
        let lowercase = normalizer?["lowercase"] as? Bool ?? true
        return try WordPieceTokenizer(
            vocabulary: vocabulary,
            configuration: .init(maxLength: max(2, configuration.maxLength), lowercase: lowercase,
                                 stripAccents: normalizer?["strip_accents"] as? Bool,
                                 maxCharactersPerWord: model["max_input_chars_per_word"] as? Int ?? 100),
            name: name)
    }

    func normalizations(_ normalizer: Any?) throws(PreprocessingError) -> [TextPipeline.Normalization] {
        guard let normalizer = normalizer as? [String: Any] else { return [] }
        switch normalizer["type"] as? String {
        case "Sequence":
            var steps: [TextPipeline.Normalization] = []
            for step in normalizer["normalizers"] as? [Any] ?? [] { steps += try normalizations(step) }
            return steps
        case "NFC": return [.nfc]
        case "NFD": return [.nfd]
        case "NFKC": return [.nfkc]
        case "NFKD": return [.nfkd]
        case "Lowercase": return [.lowercase]
        case "Strip":
            return [.strip(left: normalizer["strip_left"] as? Bool ?? true, right: normalizer["strip_right"] as? Bool ?? true)]
        case "Replace":
            return [.replace(try pattern(normalizer["pattern"]), with: normalizer["content"] as? String ?? "")]
        case let other:
            throw unsupported("normalizer \(other ?? "without a type")")
        }
    }

    func preTokenizations(_ preTokenizer: Any?) throws(PreprocessingError) -> [TextPipeline.PreTokenization] {
        guard let preTokenizer = preTokenizer as? [String: Any] else { return [] }
        switch preTokenizer["type"] as? String {
        case "Sequence":
            var steps: [TextPipeline.PreTokenization] = []
            for step in preTokenizer["pretokenizers"] as? [Any] ?? [] { steps += try preTokenizations(step) }
            return steps
        case "ByteLevel":
            return [.byteLevel(addPrefixSpace: preTokenizer["add_prefix_space"] as? Bool ?? true,
                               useRegex: preTokenizer["use_regex"] as? Bool ?? true)]
        case "Whitespace": return [.whitespace]
        case "WhitespaceSplit": return [.whitespaceSplit]
        case "Split":
            let behavior = preTokenizer["behavior"] as? String
            guard behavior == "Removed" || behavior == "Isolated" else { throw unsupported("Split behavior \(behavior ?? "none")") }
            return [.split(try pattern(preTokenizer["pattern"]), invert: preTokenizer["invert"] as? Bool ?? false,
                           removeMatches: behavior == "Removed")]
        case let other:
            throw unsupported("pre_tokenizer \(other ?? "without a type")")
        }
    }

    func pattern(_ value: Any?) throws(PreprocessingError) -> TextPipeline.Pattern {
        let object = value as? [String: Any]
        if let regex = object?["Regex"] as? String {
            do { return try TextPipeline.Pattern(regex: regex) } catch { throw PreprocessingError(error.code, error.message, input: name) }
        }
        if let literal = object?["String"] as? String { return TextPipeline.Pattern(literal: literal) }
        throw PreprocessingError(.invalidVocabulary, "a pattern is neither {\"Regex\": …} nor {\"String\": …}", input: name)
    }
}
