import Foundation
import Inference
import Preprocessing
import TestSupport
import Testing

@testable import Speech

/// Whisper tiny.en split into front end, encoder and decoder modules reproduces CTranslate2's greedy
/// decoding of the original model (golden ids in Tests/Fixtures/golden/models/whisper-tiny.json).
@Suite("Whisper transcription from its modules")
struct WhisperTranscriberTests {
    static var repo: URL { TestPaths.repository }
    static var cache: URL { TestPaths.cache }

    struct Golden: Decodable {
        struct Clip: Decodable {
            let spoken: String
            let greedy_token_ids: [Int]
            let transcript: String
        }
        let clips: [String: Clip]
    }

    static func transcriber() async throws -> WhisperTranscriber {
        let models = cache.appendingPathComponent("models")
        let text = try #require(
            try? String(contentsOf: models.appendingPathComponent("whisper-tokens.txt"), encoding: .utf8),
            "missing whisper-tokens.txt in \(models.path): run scripts/setup.sh")
        let pool = InferenceThreadPool(threadCount: 1)
        return try WhisperTranscriber(
            encoder: await InferenceSession.load(modelPath: models.appendingPathComponent("whisper-tiny-encoder.onnx").path, threadPool: pool),
            decoder: await InferenceSession.load(modelPath: models.appendingPathComponent("whisper-tiny-decoder.onnx").path, threadPool: pool),
            tokens: WhisperTokenTable(text: text))
    }

    /// Word error rate (TestSupport's ``wordErrorRate(_:reference:)``).
    static func wordErrorRate(reference: String, hypothesis: String) -> Double {
        TestSupport.wordErrorRate(hypothesis, reference: reference)
    }

    @Test(.timeLimit(.minutes(2)))
    func reproducesGreedyIdsAndTranscribesWithLowWordErrorRate() async throws {
        let golden = try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: Self.repo.appendingPathComponent("Tests/Fixtures/golden/models/whisper-tiny.json")))
        #expect(golden.clips.count >= 6)
        let transcriber = try await Self.transcriber()
        for (name, clip) in golden.clips.sorted(by: { $0.key < $1.key }) {
            let bytes = try #require(FileManager.default.contents(atPath: Self.cache.appendingPathComponent("fixtures/\(name)").path))
            let audio = try WAVDecoder.decode([UInt8](bytes), name: name)
            let transcript = try await transcriber.transcribe(audio)
            #expect(transcript.tokenIDs == clip.greedy_token_ids, "\(name)")
            #expect(transcript.text == String(clip.transcript.drop { $0 == " " }), "\(name)")
            let wer = Self.wordErrorRate(reference: clip.spoken, hypothesis: transcript.text)
            #expect(wer < 0.2, "\(name): WER \(wer) for \"\(transcript.text)\"")
        }
    }

    /// The decoder's key/value caches change nothing: decoding the way it ran before them (the whole
    /// prefix and the features at every step, `wholePrefix`) gives the same ids as the cached loop.
    @Test(.timeLimit(.minutes(2)))
    func cachedDecodingMatchesWholePrefixDecoding() async throws {
        let golden = try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: Self.repo.appendingPathComponent("Tests/Fixtures/golden/models/whisper-tiny.json")))
        var transcriber = try await Self.transcriber()
        for name in ["cmd-open-gate.wav", "cmd-turn-on-conveyor.wav"] {
            let clip = try #require(golden.clips[name])
            let bytes = try #require(FileManager.default.contents(atPath: Self.cache.appendingPathComponent("fixtures/\(name)").path))
            let features = try await transcriber.encode(try WAVDecoder.decode([UInt8](bytes), name: name))
            transcriber.wholePrefix = false
            let cached = try await transcriber.decode(features: features)
            transcriber.wholePrefix = true
            let wholePrefix = try await transcriber.decode(features: features)
            #expect(cached.tokenIDs == clip.greedy_token_ids, "\(name)")
            #expect(wholePrefix.tokenIDs == cached.tokenIDs, "\(name)")
        }
    }

    /// A decoder file without the caches' inputs and outputs is a clear error, not a wrong transcript.
    @Test func decoderWithoutCachesIsAnError() async throws {
        let transcriber = try await Self.transcriber()
        let greedy = WhisperGreedyDecoder(decoder: transcriber.encoder, prompt: transcriber.prompt, endOfText: transcriber.endOfText)
        let features = try Tensor(float32: [Float](repeating: 0, count: 1500 * 384), shape: [1, 1500, 384])
        do {
            _ = try await greedy.decode(features: features)
            Issue.record("decoding with the encoder's session succeeded")
        } catch let error as InferenceError {
            #expect(error.message.contains("key/value cache"), "\(error)")
        }
    }

    @Test func wordErrorRateCountsSubstitutions() {
        #expect(Self.wordErrorRate(reference: "stop the line", hypothesis: "Stop the line.") == 0)
        #expect(abs(Self.wordErrorRate(reference: "stop the line", hypothesis: "stop a line") - 1.0 / 3) < 1e-9)
    }

    @Test func badTokenTableIsATypedError() {
        #expect(throws: PreprocessingError.self) { try WhisperTokenTable(text: "zz-not-hex\n") }
        #expect(throws: PreprocessingError.self) { try WhisperTokenTable(text: "") }
        let table = try? WhisperTokenTable(text: "48656c6c6f\n20776f726c64\n<|endoftext|>\n")
        #expect(table?.text(of: [0, 1, 2]) == "Hello world")
        #expect(table?.id(ofSpecial: "<|endoftext|>") == 2)
    }
}
