import Inference
import Preprocessing
import Testing

private struct TextGolden: Decodable {
    struct Case: Decodable {
        let text: String; let pair: String?; let max_length: Int; let tokens: [String]; let ids: [Int64]
        let attention_mask: [Int64]; let type_ids: [Int64]
    }
    let cases: [Case]
}

@Suite("WordPiece tokenizer matches Hugging Face tokenizers")
struct WordPieceTokenizerTests {
    private let golden: TextGolden
    private let vocabularyPath = Fixtures.path("vocab.txt")

    init() throws { golden = try Fixtures.golden("text.json", as: TextGolden.self) }

    @Test func everyGoldenCaseIsExact() throws {
        _ = try Fixtures.bytes("vocab.txt")
        for maxLength in Set(golden.cases.map(\.max_length)) {
            let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyPath, configuration: .init(maxLength: maxLength))
            for expected in golden.cases where expected.max_length == maxLength {
                let encoded = tokenizer.encode(expected.text, pair: expected.pair)
                #expect(encoded.tokens == expected.tokens, "text: \(expected.text.debugDescription), pair: \(expected.pair ?? "-"), max \(maxLength)")
                #expect(encoded.ids == expected.ids)
                #expect(encoded.attentionMask == expected.attention_mask)
                #expect(encoded.tokenTypeIDs == expected.type_ids)
            }
        }
    }

    @Test func tensorsArePaddedWhenAsked() throws {
        _ = try Fixtures.bytes("vocab.txt")
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyPath, configuration: .init(maxLength: 12, padToMaxLength: true))
        let tensors = tokenizer.encode("A photo of a cat.").tensors
        #expect(tensors["input_ids"]?.shape == [1, 12])
        #expect(tensors["input_ids"]?.int64Values == [101, 1037, 6302, 1997, 1037, 4937, 1012, 102, 0, 0, 0, 0])
        #expect(tensors["attention_mask"]?.int64Values == [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
        #expect(tensors["token_type_ids"]?.int64Values == [Int64](repeating: 0, count: 12))
    }

    @Test func missingOrUselessVocabulary() {
        #expect { try WordPieceTokenizer(vocabularyFile: "/nonexistent/vocab.txt") } throws: { error in
            let e = error as? PreprocessingError
            return e?.code == .invalidVocabulary && e?.input == "/nonexistent/vocab.txt"
        }
        #expect { try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "hello"]) } throws: { error in
            (error as? PreprocessingError)?.message.contains("[CLS]") == true
        }
    }

    @Test func smallVocabularyGreedyMatch() throws {
        let tokenizer = try WordPieceTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "aff", "!"])
        #expect(tokenizer.wordPieces("Unaffable! xyz") == ["un", "##aff", "##able", "!", "[UNK]"])
    }
}
