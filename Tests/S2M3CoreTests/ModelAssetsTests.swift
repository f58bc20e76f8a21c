import Foundation
import TestSupport
import Testing

/// Checks the text assets that `scripts/setup.d/20-models.sh` leaves in the cache against the
/// committed manifest and golden files (docs/models.md). The README test command runs the set-up
/// first, so a missing file here is a set-up failure, reported with the path to look at.
@Suite("Model assets")
struct ModelAssetsTests {
    static var repo: URL { TestPaths.repository }
    static var cache: URL { TestPaths.cache }

    func lines(_ relative: String) throws -> [String] {
        let url = Self.cache.appendingPathComponent(relative)
        let text = try #require(
            try? String(contentsOf: url, encoding: .utf8),
            "missing \(url.path): run scripts/setup.sh (with the same S2M3_CACHE)")
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.repo.appendingPathComponent(relative))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every module in the manifest has its ONNX file among the digest-checked artifacts.
    @Test func manifestListsEveryModuleFile() throws {
        let manifest = try json("models/manifest.json")
        let modules = try #require(manifest["modules"] as? [[String: Any]])
        let artifacts = try #require(manifest["artifacts"] as? [[String: Any]])
        let paths = Set(artifacts.compactMap { $0["path"] as? String })
        let ids = modules.compactMap { $0["id"] as? String }
        #expect(ids.count == 9)
        for module in modules {
            let file = try #require(module["file"] as? String)
            #expect(paths.contains(file), "\(file) has no digest in models/manifest.json")
        }
    }

    /// The byte-level token table turns the golden greedy ids back into CTranslate2's transcripts.
    @Test func whisperTokensDecodeGoldenTranscripts() throws {
        let tokens = try lines("models/whisper-tokens.txt")
        #expect(tokens.count == 51864)
        #expect(tokens[50256] == "<|endoftext|>" && tokens[50257] == "<|startoftranscript|>")
        #expect(tokens[50362] == "<|notimestamps|>")
        let golden = try json("Tests/Fixtures/golden/models/whisper-tiny.json")
        let clips = try #require(golden["clips"] as? [String: [String: Any]])
        #expect(clips.count >= 6)
        for (name, clip) in clips {
            let ids = try #require(clip["greedy_token_ids"] as? [Int])
            var bytes: [UInt8] = []
            for id in ids {
                let hex = Array(tokens[id].utf8)
                #expect(hex.count % 2 == 0 && !tokens[id].hasPrefix("<|"), "token \(id) in \(name)")
                for i in stride(from: 0, to: hex.count - 1, by: 2) {
                    bytes.append(UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) ?? 0)
                }
            }
            #expect(String(decoding: bytes, as: UTF8.self) == clip["transcript"] as? String, "\(name)")
        }
    }

    /// Label, vocabulary and OCR dictionary line numbers are the class / token ids the models use.
    @Test func labelVocabularyAndDictionaryIndices() throws {
        let labels = try lines("models/imagenet-labels.txt")
        #expect(labels.count == 1000)
        #expect(labels[285] == "Egyptian cat" && labels[967] == "espresso" && labels[872] == "tripod")
        let vocab = try lines("models/bert-vocab.txt")
        #expect(vocab.count == 30522)
        #expect(vocab[0] == "[PAD]" && vocab[100] == "[UNK]" && vocab[101] == "[CLS]" && vocab[102] == "[SEP]")
        let keys = try lines("models/ocr-keys.txt")
        #expect(keys.count == 6623 && keys.allSatisfy { $0.count == 1 })
        let mel = try lines("models/whisper-mel80.txt")
        #expect(mel.count == 80 && mel.allSatisfy { $0.split(separator: " ").count == 201 })
    }
}
