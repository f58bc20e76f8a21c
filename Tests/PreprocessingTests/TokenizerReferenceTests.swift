import Foundation
import Preprocessing
import Testing

/// The ids transformers' `CLIPTokenizer` and the `tokenizers` library give for a corpus of 240
/// strings (punctuation, numbers, non-ASCII, control characters, long inputs), made by
/// scripts/setup.d/25-clip-example.sh in `<cache>/models/clip-example/tokenizer-reference.json`.
private struct TokenizerReference: Decodable {
    let corpus: [String]
    /// `CLIPTokenizer(text, padding="max_length", max_length=77, truncation=True)`.
    let clip: [[Int64]]
    let clip_mask: [[Int64]]
    /// `Tokenizer.from_file("clip-tokenizer.json").encode(text)` (no truncation).
    let clip_json: [[Int64]]
    /// `Tokenizer.from_file("bert-tokenizer.json").encode(text)` (no truncation).
    let bert_json: [[Int64]]
}

@Suite("BPE and tokenizer.json tokenizers match transformers and tokenizers")
struct TokenizerReferenceTests {
    private let folder = Fixtures.cacheDirectory.appendingPathComponent("models/clip-example").path
    private let reference: TokenizerReference

    init() throws {
        let path = folder + "/tokenizer-reference.json"
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path): run scripts/setup.sh (with the same S2M3_CACHE)")
        reference = try JSONDecoder().decode(TokenizerReference.self, from: data)
    }

    @Test func corpusIsLargeAndVaried() {
        #expect(reference.corpus.count >= 200)
        #expect(reference.corpus.contains { $0.unicodeScalars.contains { !$0.isASCII } })
        #expect(reference.clip_json.contains { $0.count > 77 }, "some inputs are longer than CLIP's context")
    }

    @Test func clipFromVocabularyAndMergesEqualsCLIPTokenizer() throws {
        let tokenizer = try BPETokenizer(vocabularyFile: folder + "/vocab.json", mergesFile: folder + "/merges.txt")
        var wrong = 0
        for (i, text) in reference.corpus.enumerated() {
            let encoded = tokenizer.encode(text)
            if encoded.ids != reference.clip[i] || encoded.attentionMask != reference.clip_mask[i] { wrong += 1 }
            #expect(encoded.ids == reference.clip[i], "\(text.debugDescription)")
            #expect(encoded.attentionMask == reference.clip_mask[i])
        }
        #expect(wrong == 0)
    }

    @Test func clipTokenizerJSONEqualsTokenizersLibrary() throws {
        let tokenizer = try HuggingFaceTokenizer(file: folder + "/clip-tokenizer.json", maxLength: 4096)
        for (i, text) in reference.corpus.enumerated() {
            #expect(tokenizer.encode(text).ids == reference.clip_json[i], "\(text.debugDescription)")
        }
    }

    @Test func wordPieceTokenizerJSONEqualsTokenizersLibrary() throws {
        let tokenizer = try HuggingFaceTokenizer(file: folder + "/bert-tokenizer.json", maxLength: 4096)
        for (i, text) in reference.corpus.enumerated() {
            #expect(tokenizer.encode(text).ids == reference.bert_json[i], "\(text.debugDescription)")
        }
    }

    @Test func truncationKeepsTheEndTokenAndPaddingMasks() throws {
        let tokenizer = try HuggingFaceTokenizer(file: folder + "/clip-tokenizer.json", maxLength: 8, padToMaxLength: true)
        let long = tokenizer.encode(String(repeating: "a photo of a cat ", count: 20))
        #expect(long.ids.count == 8)
        #expect(long.ids.first == 49406)
        #expect(long.ids.last == 49407)
        let short = tokenizer.encode("cat")
        #expect(short.attentionMask == [1, 1, 1, 0, 0, 0, 0, 0])
    }

    @Test func unreadableOrUnsupportedFilesAreClearErrors() throws {
        #expect(throws: PreprocessingError.self) { try BPETokenizer(vocabularyFile: folder + "/missing.json", mergesFile: folder + "/merges.txt") }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("s2m3-tokenizer-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try Data(#"{"model": {"type": "Unigram", "vocab": []}}"#.utf8).write(to: temporary)
        do {
            _ = try HuggingFaceTokenizer(file: temporary.path)
            Issue.record("a Unigram tokenizer.json was accepted")
        } catch {
            #expect(error.code == .unsupportedTokenizer)
            #expect(error.message.contains("Unigram"))
        }
        try Data(#"{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}"#.utf8).write(to: temporary)
        #expect(throws: PreprocessingError.self) { try HuggingFaceTokenizer(file: temporary.path) }
    }
}
